#include "cli/enclaved/serve_config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "events/requests/image_catalog.h"
#include "events/requests/session_request.h"

namespace enclave::enclaved {

namespace {

// Every address of this host's interfaces: an allow-list must not reach the host's own services
// through a public or private address of it (refused unless --egress-permit covers it).
std::vector<egress::IpAddress> host_interface_addresses() {
  std::vector<egress::IpAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    char text[64] = {};
    if (i->ifa_addr->sa_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
    else if (i->ifa_addr->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, text,
                sizeof text);
    if (auto ip = egress::parse_ip(text)) out.push_back(*ip);
  }
  freeifaddrs(list);
  return out;
}

// A MiB count of --org-storage-mb-for, with the bounds of --org-storage-mb.
bool parse_mb(const std::string& text, uint64_t* out) {
  const Setting& s = serve_setting("org-storage-mb");
  if (text.empty() || text.size() > 18) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  int64_t n = std::stoll(text);
  if (n < s.min || n > s.max) return false;
  *out = static_cast<uint64_t>(n);
  return true;
}

BuiltConfig fail(std::string why) {
  BuiltConfig b;
  b.error = std::move(why);
  return b;
}

}  // namespace

BuiltConfig build_serve_config(const Values& v) {
  BuiltConfig built;
  ServeConfig& c = built.config;
  c.listen = v.text("listen");
  auto addr = http::parse_listen(c.listen);
  if (!addr)
    return fail("--listen must be HOST:PORT (IPv6 as [ADDR]:PORT), got '" + c.listen + "'");
  c.address = *addr;
  c.backend = v.text("backend");
  c.auth = v.text("auth");
  c.auth_disabled = c.auth == "disabled";
  c.log_format = v.text("log-format");
  c.log_level = v.text("log-level");

  EngineConfig& e = c.engine;
  e.data_dir = v.text("data-dir");
  e.max_concurrency = static_cast<uint32_t>(v.integer("max-concurrency"));
  e.policy.idle_ttl_ms = v.integer("ENCLAVE_INTERACTIVE_IDLE_TTL") * 1000;
  e.policy.max_lifetime_ms = v.integer("ENCLAVE_INTERACTIVE_MAX_LIFETIME") * 1000;
  e.policy.max_cumulative_ms =
      static_cast<uint64_t>(v.integer("ENCLAVE_INTERACTIVE_MAX_CUMULATIVE_MS"));
  e.policy.pause_on_idle = v.text("ENCLAVE_INTERACTIVE_ON_IDLE") == "pause";
  e.policy.paused_max_ms = v.integer("ENCLAVE_PAUSED_MAX_SECONDS") * 1000;
  e.min_free_disk_mb = static_cast<uint64_t>(v.integer("min-free-disk-mb"));
  e.max_disk_mb = static_cast<int32_t>(v.integer("max-disk-mb"));
  e.org_storage_mb = static_cast<uint64_t>(v.integer("org-storage-mb"));
  for (const auto& entry : cli::split_list(v.text("org-storage-mb-for"))) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail("--org-storage-mb-for entries are ORG=MB, not '" + entry + "'");
    uint64_t mb = 0;
    if (!parse_mb(entry.substr(eq + 1), &mb))
      return fail("--org-storage-mb-for " + entry.substr(0, eq) + " must be 0..1073741824, got '" +
                  entry.substr(eq + 1) + "'");
    e.org_storage_mb_for[entry.substr(0, eq)] = mb;
  }

  auto permit = egress::parse_cidr_list(v.text("egress-permit"));
  if (!permit) return fail("--egress-permit: " + permit.error().message);
  e.egress.permit = std::move(*permit);
  e.egress.host_addresses = host_interface_addresses();
  e.egress.max_connections = static_cast<uint32_t>(v.integer("egress-max-connections"));

  c.e2b_on = v.text("e2b") == "on";
  c.e2b.auth_disabled = c.auth_disabled;
  c.e2b.policy.max_timeout_seconds = static_cast<int32_t>(
      std::min<int64_t>(v.integer("ENCLAVE_INTERACTIVE_MAX_LIFETIME"), 1 << 30));
  for (const auto& hp : cli::split_list(v.text("e2b-internet-allow"))) {
    if (!valid_host_port(hp))
      return fail("--e2b-internet-allow entries are HOST:PORT, not '" + hp + "'");
    // The operator's own list obeys the same policy as a tenant's (permit it explicitly).
    if (auto why =
            egress::check_allow_host(e.egress, hp.substr(0, hp.rfind(':')), "--e2b-internet-allow"))
      return fail(why->message + "; add its range to --egress-permit to allow it");
    c.e2b.policy.internet_allow.push_back(hp);
  }
  for (const auto& o : cli::split_list(v.text("allow-origin"))) {
    auto n = http::normalize_origin(o);
    if (!n) return fail("--allow-origin entries are http[s]://HOST[:PORT], not '" + o + "'");
    c.browsers.allowed_origins.push_back(*n);
  }
  c.browsers.loopback_host_only = c.auth_disabled;
  c.api.auth_disabled = c.auth_disabled;
  c.api.metrics_public = v.on("metrics-public");
  c.api.max_upload_bytes = static_cast<uint64_t>(v.integer("max-upload-mb")) << 20;
  c.e2b.max_upload_bytes = c.api.max_upload_bytes;

  // --warm-pool: "N" (the default image's pool) and/or "IMAGE=N" (issue 21), comma-separated.
  for (const auto& item : cli::split_list(v.text("warm-pool"))) {
    const auto eq = item.find('=');
    const std::string name = eq == std::string::npos ? "default" : item.substr(0, eq);
    const std::string count = eq == std::string::npos ? item : item.substr(eq + 1);
    const bool digits =
        !count.empty() && count.size() <= 2 &&
        std::all_of(count.begin(), count.end(), [](char d) { return d >= '0' && d <= '9'; });
    if (!digits || std::stoi(count) > 64)
      return fail("--warm-pool entries are N or IMAGE=N with N in 0..64, not '" + item + "'");
    if (name == "default")
      c.gvisor.warm_pool_size = std::stoi(count);
    else
      c.image_pools[name] = std::stoi(count);
  }
  c.gvisor.egress_policy = e.egress;
  c.gvisor.egress_upstream_ca = v.text("egress-upstream-ca");
  if (!c.gvisor.egress_upstream_ca.empty() && ::access(c.gvisor.egress_upstream_ca.c_str(), R_OK))
    return fail("--egress-upstream-ca " + c.gvisor.egress_upstream_ca + " is not a readable file");

  backends::KubernetesConfig& k = c.kubernetes;
  k.kubeconfig_path = v.text("kubeconfig");
  if (k.kubeconfig_path.empty()) {
    const char* home = std::getenv("HOME");
    const char* kenv = std::getenv("KUBECONFIG");
    k.kubeconfig_path = kenv ? kenv : std::string(home ? home : "") + "/.kube/config";
  }
  // --k8s-image: "REF" (the default image's container) and/or "NAME=REF" (issue 21).
  for (const auto& item : cli::split_list(v.text("k8s-image"))) {
    const auto eq = item.find('=');
    const std::string name = eq == std::string::npos ? "default" : item.substr(0, eq);
    const std::string ref = eq == std::string::npos ? item : item.substr(eq + 1);
    const bool ref_ok =
        !ref.empty() && ref.size() <= 255 && std::all_of(ref.begin(), ref.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) ||
                 std::strchr("._-/:@", ch) != nullptr;
        });
    if (!ref_ok || !images::valid_image_name(name)) {
      return fail(
          "--k8s-image entries are REF or NAME=REF (NAME an image name, REF a container "
          "image reference), not '" +
          item + "'");
    }
    if (name == "default")
      k.image = ref;
    else
      k.images[name] = ref;
  }
  k.runtime_class = v.text("k8s-runtime-class");
  k.egress_policy = e.egress;
  if (c.backend == "kubernetes") {  // checked only where it is used, as before
    const std::string& quota = v.text("k8s-org-quota");
    int pods = 0, cpu = 0, mem = 0;
    char end = 0;
    if (std::sscanf(quota.c_str(), "%d,%d,%d%c", &pods, &cpu, &mem, &end) != 3 || pods < 1 ||
        cpu < 1 || mem < 1)
      return fail("--k8s-org-quota must be PODS,CPU_MILLIS,MEMORY_MB, got '" + quota + "'");
    k.org_quota = {pods, cpu, mem};
  }

  c.signing_key_path = v.text("signing-key");
  c.sth.anchor_dir = v.text("anchor-dir");
  c.sth.interval_s = v.integer("sth-interval-s");
  if (c.signing_key_path.empty() && !c.sth.anchor_dir.empty())
    return fail("--anchor-dir needs --signing-key (there are no tree heads to anchor without one)");

  // --store, --ha (issue 22, docs/HA.md).
  const std::string& store = v.text("store");
  if (store.rfind("rocksdb:", 0) == 0) {
    if (store.size() == 8) return fail("--store rocksdb:DIR needs a directory");
    e.data_dir = store.substr(8);
  } else if (store.rfind("postgres:", 0) == 0) {
    c.pg_conninfo = store.substr(9);
    if (c.pg_conninfo.empty()) return fail("--store postgres:CONNINFO needs a libpq conninfo");
  } else if (!store.empty()) {
    return fail("--store must be rocksdb:DIR or postgres:CONNINFO, got '" + store + "'");
  }
  c.ha = v.on("ha");
  c.lease_ttl_ms = v.integer("lease-ttl-s") * 1000;
  c.advertise = v.text("advertise");
  if (c.advertise.empty()) c.advertise = "http://" + c.listen;
  if (c.ha && c.pg_conninfo.empty())
    return fail("--ha needs --store postgres:CONNINFO (replicas share the log through PostgreSQL)");
  if (c.ha && c.backend == "gvisor")
    return fail(
        "--ha cannot run the gvisor backend: its sandboxes die with the leader's host; "
        "use --backend kubernetes (pods outlive the leader) or simulator");
  return built;
}

}  // namespace enclave::enclaved
