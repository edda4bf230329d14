// enclaved: the Enclave server. `enclaved [flags]` serves the HTTP API; `enclaved keys …`
// administers API keys and `enclaved orgs …` orgs' admission settings offline. Every setting
// is a flag and an environment variable; the flag wins (SPEC.md).
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/engine.h"
#include "actors/key_admin.h"
#include "actors/org_admin.h"
#include "backends/simulator/simulator.h"
#include "events/printable.h"
#include "events/session_request.h"
#include "http/api.h"
#include "http/auth.h"
#include "http/browser_guard.h"
#include "http/e2b/adapter.h"
#include "http/preflight.h"
#include "http/query.h"
#include "http/server.h"
#include "storage/sth_service.h"
#ifdef ENCLAVE_HAVE_GVISOR
#include "backends/gvisor/gvisor_backend.h"
#endif
#ifdef ENCLAVE_HAVE_KUBERNETES
#include "backends/kubernetes/kubernetes_backend.h"
#endif

namespace {

using namespace enclave;

constexpr const char* kUsage =
    R"(usage: enclaved [flags]                      serve the HTTP API
       enclaved keys create --org ORG --role owner|member|viewer|metrics [--e2b] [--data-dir DIR]
       enclaved keys list [--data-dir DIR]
       enclaved keys revoke KEYID [--data-dir DIR]
       enclaved orgs set ORG [--weight N] [--max-queued N] [--max-live N] [--data-dir DIR]
       enclaved orgs list [--data-dir DIR]
       enclaved signing-key create FILE          a new Ed25519 key for tree heads (mode 0600)

flags (each also an environment variable; the flag wins):
  --listen HOST:PORT        ENCLAVE_LISTEN           default 127.0.0.1:8090
  --data-dir DIR            ENCLAVE_DATA_DIR         default ./data
  --backend NAME            ENCLAVE_BACKEND          gvisor (default) | simulator | kubernetes
  --max-concurrency N       ENCLAVE_MAX_CONCURRENCY  default 8
  --auth keys|disabled      ENCLAVE_AUTH             default keys; disabled: loopback only
  --log-format text|json    ENCLAVE_LOG_FORMAT       default text
  --log-level LEVEL         ENCLAVE_LOG_LEVEL        trace|debug|info|warn|error, default info
  --min-free-disk-mb N      ENCLAVE_MIN_FREE_DISK_MB default 512; below N MiB free on the data
                                                     dir's disk, new sessions, fleets and turns
                                                     get 507 insufficient_storage (0: no floor)
  --org-storage-mb N        ENCLAVE_ORG_STORAGE_MB   default 4096; an org storing N MiB or more in
                                                     the event log gets 429 quota_exceeded for new
                                                     work, other orgs go on (0: no quota)
  --org-storage-mb-for L    ENCLAVE_ORG_STORAGE_MB_FOR  ORG=MB,… per-org quotas that override
                                                     --org-storage-mb (0: none for that org)
  --e2b on|off              ENCLAVE_E2B              E2B SDK compatibility (docs/E2B.md), default on
  --e2b-internet-allow L    ENCLAVE_E2B_INTERNET_ALLOW  HOST:PORT,… an E2B sandbox that asks for
                                                     allow_internet_access may reach; default
                                                     none (deny-all egress, as for every sandbox)
  --egress-permit CIDR,…    ENCLAVE_EGRESS_PERMIT    internal ranges an allow-list may reach; default
                                                     none: loopback, 0/8, link-local, RFC 1918, CGNAT,
                                                     ULA, multicast/broadcast and the host's own
                                                     addresses are refused (docs/SECURITY.md)
  --egress-max-connections N  ENCLAVE_EGRESS_MAX_CONNECTIONS  connections one session's egress
                                                     may open, default 256
  --allow-origin URL,…      ENCLAVE_ALLOW_ORIGIN     browser origins (http[s]://host[:port]) allowed
                                                     to call the API besides the server's own (its
                                                     dashboard); default none: any other Origin 403
  --metrics-public          ENCLAVE_METRICS_PUBLIC   /metrics answers without a key (default: needs
                                                     a key with scope metrics:read or admin)
  --warm-pool N             ENCLAVE_WARM_POOL        gVisor pre-started kernels, default 2 (0: none)
  --signing-key FILE        ENCLAVE_SIGNING_KEY      Ed25519 key (PEM) that signs tree heads; keep it
                                                     outside the data dir; default none (no STHs:
                                                     /v1/log/sth answers 404, see docs/FORENSICS.md)
  --anchor-dir DIR          ENCLAVE_ANCHOR_DIR       one JSON file per signed tree head; default none
  --sth-interval-s N        ENCLAVE_STH_INTERVAL_S   sign a tree head this often when the log grew
                                                     (and at shutdown); default 10
environment only:
  ENCLAVE_INTERACTIVE_IDLE_TTL           seconds, default 300
  ENCLAVE_INTERACTIVE_MAX_LIFETIME       seconds, default 1800
  ENCLAVE_INTERACTIVE_MAX_CUMULATIVE_MS  default 60000
  ENCLAVE_INTERACTIVE_ON_IDLE            kill | pause: what an idle timeout does, default kill
  ENCLAVE_PAUSED_MAX_SECONDS             a paused session ends after this, default 604800
kubernetes backend (backends/kubernetes/README.md):
  --kubeconfig PATH         ENCLAVE_KUBECONFIG       default $KUBECONFIG, else ~/.kube/config
  --k8s-image IMAGE         ENCLAVE_K8S_IMAGE        sandbox image with python3, default python:3.11-slim
  --k8s-runtime-class NAME  ENCLAVE_K8S_RUNTIME_CLASS  default gvisor
  --k8s-org-quota P,CPU_M,MEM_MB  ENCLAVE_K8S_ORG_QUOTA  per-org pods, CPU millis, memory MiB;
                                                     default 64,16000,32768
)";

[[noreturn]] void usage_error(const std::string& why) {
  std::cerr << "enclaved: " << why << "\n\n" << kUsage;
  std::exit(2);
}

// "a,b,,c" → {"a","b","c"}.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    if (comma > pos) out.push_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

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

// Flags given as `--name value` or `--name=value`; positional words in order.
struct Args {
  std::map<std::string, std::string> flags;
  std::vector<std::string> words;
};

Args parse_args(int argc, char** argv, int first, const std::vector<std::string>& valued,
                const std::vector<std::string>& boolean) {
  Args a;
  auto is = [](const std::vector<std::string>& v, const std::string& s) {
    for (const auto& x : v)
      if (x == s) return true;
    return false;
  };
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h" || s == "--help") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (s.rfind("--", 0) != 0) {
      a.words.push_back(s);
      continue;
    }
    std::string name = s.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    if (is(boolean, name)) {
      if (has_value) usage_error("--" + name + " takes no value");
      a.flags[name] = "1";
    } else if (is(valued, name)) {
      if (!has_value) {
        if (i + 1 >= argc) usage_error("--" + name + " needs a value");
        value = argv[++i];
      }
      a.flags[name] = value;
    } else {
      usage_error("unknown flag --" + name);
    }
  }
  return a;
}

// The flag's value, else the environment variable's, else the default.
std::string setting(const Args& a, const std::string& flag, const char* env, std::string dflt) {
  if (auto it = a.flags.find(flag); it != a.flags.end()) return it->second;
  if (env) {
    if (const char* v = std::getenv(env); v && *v) return v;
  }
  return dflt;
}

int64_t parse_int(const std::string& what, const std::string& text, int64_t min, int64_t max) {
  if (text.empty() || text.size() > 18)
    usage_error(what + " must be an integer, got '" + text + "'");
  int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') usage_error(what + " must be an integer, got '" + text + "'");
    n = n * 10 + (c - '0');
  }
  if (n < min || n > max) {
    usage_error(what + " must be from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return n;
}

int keys_main(int argc, char** argv) {
  if (argc < 3) usage_error("keys: expected create, list or revoke");
  std::string verb = argv[2];
  Args a = parse_args(argc, argv, 3, {"data-dir", "org", "role"}, {"e2b"});
  std::string data_dir = setting(a, "data-dir", "ENCLAVE_DATA_DIR", "./data");
  if (verb == "create") {
    if (!a.words.empty()) usage_error("keys create: unexpected argument " + a.words[0]);
    std::string org = setting(a, "org", nullptr, "");
    std::string role = setting(a, "role", nullptr, "");
    if (org.empty()) usage_error("keys create: --org is required");
    if (role.empty())
      usage_error("keys create: --role is required (owner, member, viewer or metrics)");
    auto r = keys::create(data_dir, org, role, a.flags.count("e2b") > 0);
    if (!r.ok()) {
      std::cerr << "enclaved keys create: " << r.error().message << "\n";
      return 1;
    }
    // The secret is the last token of the output (scripts take it with awk '{t=$NF}').
    std::cout << "API key for org " << org << ", role " << role
              << " (shown once; only its hash is stored):\n"
              << *r << "\n";
    return 0;
  }
  if (verb == "list") {
    if (!a.words.empty()) usage_error("keys list: unexpected argument " + a.words[0]);
    auto r = keys::list(data_dir);
    if (!r.ok()) {
      std::cerr << "enclaved keys list: " << r.error().message << "\n";
      return 1;
    }
    std::printf("%-34s %-20s %-8s %-26s %s\n", "KEY ID", "ORG", "ROLE", "CREATED", "STATUS");
    for (const auto& k : *r) {
      // Escaped: a data dir is hostile input, its strings may hold terminal controls.
      std::printf("%-34s %-20s %-8s %-26s %s\n", printable(k.key_id).c_str(),
                  printable(k.org_id).c_str(), printable(k.role).c_str(), k.created_at.c_str(),
                  k.revoked ? "revoked" : "active");
    }
    return 0;
  }
  if (verb == "revoke") {
    if (a.words.size() != 1) usage_error("keys revoke: expected exactly one KEYID");
    auto r = keys::revoke(data_dir, a.words[0]);
    if (!r.ok()) {
      std::cerr << "enclaved keys revoke: " << r.error().message << "\n";
      return 1;
    }
    std::cout << (*r ? "revoked " : "already revoked ") << a.words[0] << "\n";
    return 0;
  }
  usage_error("keys: unknown verb '" + verb + "' (create, list, revoke)");
}

// Orgs' share of admission (docs/ARCHITECTURE.md, fair admission): offline, like keys.
int orgs_main(int argc, char** argv) {
  if (argc < 3) usage_error("orgs: expected set or list");
  std::string verb = argv[2];
  Args a = parse_args(argc, argv, 3, {"data-dir", "weight", "max-queued", "max-live"}, {});
  std::string data_dir = setting(a, "data-dir", "ENCLAVE_DATA_DIR", "./data");
  if (verb == "set") {
    if (a.words.size() != 1) usage_error("orgs set: expected exactly one ORG");
    auto number = [&](const char* flag, int64_t max) -> std::optional<int64_t> {
      auto it = a.flags.find(flag);
      if (it == a.flags.end()) return std::nullopt;
      return parse_int(std::string("--") + flag, it->second, 0, max);
    };
    auto weight = number("weight", org_settings::kMaxWeight);
    auto max_queued = number("max-queued", org_settings::kMaxQueued);
    auto max_live = number("max-live", org_settings::kMaxLive);
    if (!weight && !max_queued && !max_live)
      usage_error("orgs set: give at least one of --weight, --max-queued, --max-live");
    auto r = orgs::set(data_dir, a.words[0], weight, max_queued, max_live);
    if (!r.ok()) {
      std::cerr << "enclaved orgs set: " << r.error().message << "\n";
      return 1;
    }
    std::cout << "org " << a.words[0] << ": weight " << r->weight << ", max queued "
              << r->max_queued << ", max live " << r->max_live << " (0: no limit)\n";
    return 0;
  }
  if (verb == "list") {
    if (!a.words.empty()) usage_error("orgs list: unexpected argument " + a.words[0]);
    auto r = orgs::list(data_dir);
    if (!r.ok()) {
      std::cerr << "enclaved orgs list: " << r.error().message << "\n";
      return 1;
    }
    std::printf("%-24s %8s %12s %10s\n", "ORG", "WEIGHT", "MAX QUEUED", "MAX LIVE");
    for (const auto& [org, v] : r->by_org)
      std::printf("%-24s %8u %12u %10u\n", org.c_str(), v.weight, v.max_queued, v.max_live);
    return 0;
  }
  usage_error("orgs: unknown verb '" + verb + "' (set, list)");
}

// `%*` in a pattern: the message as the inside of a JSON string (quotes, backslashes and control
// characters escaped), so that --log-format json writes one valid JSON object a line.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static const char* hex = "0123456789abcdef";
    for (char ch : std::string_view(msg.payload.data(), msg.payload.size())) {
      auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(ch);
      } else if (c < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
        dest.append(esc, esc + sizeof esc);
      } else {
        dest.push_back(ch);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

void setup_logging(const std::string& format, const std::string& level) {
  auto logger = spdlog::stderr_color_mt("enclaved");
  spdlog::set_default_logger(logger);
  if (format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%*"})");
    spdlog::set_formatter(std::move(f));
  } else if (format == "text") {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  } else {
    usage_error("--log-format must be text or json");
  }
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") usage_error("unknown --log-level " + level);
  spdlog::set_level(lvl);
}

int serve_main(int argc, char** argv, int first) {
  Args a = parse_args(argc, argv, first,
                      {"listen",
                       "data-dir",
                       "backend",
                       "max-concurrency",
                       "warm-pool",
                       "auth",
                       "log-format",
                       "log-level",
                       "e2b",
                       "e2b-internet-allow",
                       "kubeconfig",
                       "k8s-image",
                       "k8s-runtime-class",
                       "k8s-org-quota",
                       "min-free-disk-mb",
                       "org-storage-mb",
                       "org-storage-mb-for",
                       "egress-permit",
                       "egress-max-connections",
                       "allow-origin",
                       "signing-key",
                       "anchor-dir",
                       "sth-interval-s"},
                      {"metrics-public"});
  if (!a.words.empty()) usage_error("unexpected argument '" + a.words[0] + "'");
  std::string listen = setting(a, "listen", "ENCLAVE_LISTEN", "127.0.0.1:8090");
  std::string data_dir = setting(a, "data-dir", "ENCLAVE_DATA_DIR", "./data");
  std::string backend = setting(a, "backend", "ENCLAVE_BACKEND", "gvisor");
  std::string auth = setting(a, "auth", "ENCLAVE_AUTH", "keys");
  auto max_conc =
      parse_int("--max-concurrency", setting(a, "max-concurrency", "ENCLAVE_MAX_CONCURRENCY", "8"),
                1, 1'000'000);
  auto warm_pool =
      parse_int("--warm-pool", setting(a, "warm-pool", "ENCLAVE_WARM_POOL", "2"), 0, 64);
  auto idle_ttl = parse_int("ENCLAVE_INTERACTIVE_IDLE_TTL",
                            setting(a, "", "ENCLAVE_INTERACTIVE_IDLE_TTL", "300"), 1, 86400 * 30);
  auto lifetime =
      parse_int("ENCLAVE_INTERACTIVE_MAX_LIFETIME",
                setting(a, "", "ENCLAVE_INTERACTIVE_MAX_LIFETIME", "1800"), 1, 86400 * 365);
  auto cumulative = parse_int("ENCLAVE_INTERACTIVE_MAX_CUMULATIVE_MS",
                              setting(a, "", "ENCLAVE_INTERACTIVE_MAX_CUMULATIVE_MS", "60000"), 1,
                              int64_t{1} << 50);
  const std::string on_idle = setting(a, "", "ENCLAVE_INTERACTIVE_ON_IDLE", "kill");
  if (on_idle != "kill" && on_idle != "pause")
    usage_error("ENCLAVE_INTERACTIVE_ON_IDLE must be kill or pause, not " + on_idle);
  auto paused_max =
      parse_int("ENCLAVE_PAUSED_MAX_SECONDS",
                setting(a, "", "ENCLAVE_PAUSED_MAX_SECONDS", "604800"), 1, 86400 * 365);
  auto min_free_mb = parse_int("--min-free-disk-mb",
                               setting(a, "min-free-disk-mb", "ENCLAVE_MIN_FREE_DISK_MB", "512"), 0,
                               int64_t{1} << 30);
  auto org_storage_mb =
      parse_int("--org-storage-mb", setting(a, "org-storage-mb", "ENCLAVE_ORG_STORAGE_MB", "4096"),
                0, int64_t{1} << 30);
  std::map<std::string, uint64_t> org_storage_mb_for;
  for (const auto& entry :
       split_list(setting(a, "org-storage-mb-for", "ENCLAVE_ORG_STORAGE_MB_FOR", ""))) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0)
      usage_error("--org-storage-mb-for entries are ORG=MB, not '" + entry + "'");
    org_storage_mb_for[entry.substr(0, eq)] = static_cast<uint64_t>(parse_int(
        "--org-storage-mb-for " + entry.substr(0, eq), entry.substr(eq + 1), 0, int64_t{1} << 30));
  }
  std::string e2b = setting(a, "e2b", "ENCLAVE_E2B", "on");
  if (e2b != "on" && e2b != "off") usage_error("--e2b must be on or off");
  egress::Policy egress_policy;
  {
    auto permit = egress::parse_cidr_list(setting(a, "egress-permit", "ENCLAVE_EGRESS_PERMIT", ""));
    if (!permit) usage_error("--egress-permit: " + permit.error().message);
    egress_policy.permit = std::move(*permit);
    egress_policy.host_addresses = host_interface_addresses();
    egress_policy.max_connections = static_cast<uint32_t>(
        parse_int("--egress-max-connections",
                  setting(a, "egress-max-connections", "ENCLAVE_EGRESS_MAX_CONNECTIONS", "256"), 1,
                  1'000'000));
  }
  std::vector<std::string> e2b_internet;
  for (const auto& hp :
       split_list(setting(a, "e2b-internet-allow", "ENCLAVE_E2B_INTERNET_ALLOW", ""))) {
    if (!valid_host_port(hp))
      usage_error("--e2b-internet-allow entries are HOST:PORT, not '" + hp + "'");
    // The operator's own list obeys the same policy as a tenant's (permit it explicitly).
    if (auto e = egress::check_allow_host(egress_policy, hp.substr(0, hp.rfind(':')),
                                          "--e2b-internet-allow"))
      usage_error(e->message + "; add its range to --egress-permit to allow it");
    e2b_internet.push_back(hp);
  }
  http::BrowserPolicy browsers;
  for (const auto& o : split_list(setting(a, "allow-origin", "ENCLAVE_ALLOW_ORIGIN", ""))) {
    auto n = http::normalize_origin(o);
    if (!n) usage_error("--allow-origin entries are http[s]://HOST[:PORT], not '" + o + "'");
    browsers.allowed_origins.push_back(*n);
  }
  std::string metrics_public =
      a.flags.count("metrics-public") ? "1" : setting(a, "", "ENCLAVE_METRICS_PUBLIC", "0");
  if (metrics_public != "0" && metrics_public != "1" && metrics_public != "true" &&
      metrics_public != "false")
    usage_error("ENCLAVE_METRICS_PUBLIC must be 1, 0, true or false");
  setup_logging(setting(a, "log-format", "ENCLAVE_LOG_FORMAT", "text"),
                setting(a, "log-level", "ENCLAVE_LOG_LEVEL", "info"));

  auto addr = http::parse_listen(listen);
  if (!addr) usage_error("--listen must be HOST:PORT (IPv6 as [ADDR]:PORT), got '" + listen + "'");
  if (auth != "keys" && auth != "disabled") usage_error("--auth must be keys or disabled");
  bool auth_disabled = auth == "disabled";
  if (auth_disabled && !http::is_loopback(addr->host)) {
    std::cerr << "enclaved: --auth disabled is allowed only on a loopback listen address "
                 "(127.0.0.0/8 or [::1]); "
              << listen
              << " is not. Use --auth keys and create keys with 'enclaved keys create'.\n";
    return 2;
  }
  // Before the slow part of the start: a busy port or a data dir in use fails at once, in words.
  for (const auto& why :
       {http::listen_preflight(addr->host, addr->port), http::data_dir_preflight(data_dir)}) {
    if (!why.empty()) {
      std::cerr << "enclaved: " << why << "\n";
      return 1;
    }
  }

  Engine::BackendFactory factory;
  if (backend == "simulator") {
    factory = [](backends::Sink sink) { return backends::make_simulator({}, std::move(sink)); };
  } else if (backend == "gvisor") {
#ifdef ENCLAVE_HAVE_GVISOR
    backends::GvisorConfig gcfg;
    gcfg.warm_pool_size = static_cast<int>(warm_pool);
    gcfg.egress_policy = egress_policy;
    auto probe = backends::probe_gvisor(gcfg);
    if (!probe.ok) {
      std::cerr << "enclaved: the gvisor backend cannot run on this host: " << probe.message
                << "\n(for a machine without gVisor, --backend simulator runs fake sandboxes)\n";
      return 1;
    }
    factory = [gcfg](backends::Sink sink) {
      return backends::make_gvisor_backend(gcfg, std::move(sink));
    };
#else
    std::cerr << "enclaved: this build has no gvisor backend (backends/gvisor was not built); "
                 "rebuild with it, or use --backend simulator\n";
    return 1;
#endif
  } else if (backend == "kubernetes") {
#ifdef ENCLAVE_HAVE_KUBERNETES
    backends::KubernetesConfig kcfg;
    const char* home = std::getenv("HOME");
    const char* kenv = std::getenv("KUBECONFIG");
    kcfg.kubeconfig_path = setting(a, "kubeconfig", "ENCLAVE_KUBECONFIG",
                                   kenv ? kenv : std::string(home ? home : "") + "/.kube/config");
    kcfg.image = setting(a, "k8s-image", "ENCLAVE_K8S_IMAGE", kcfg.image);
    kcfg.runtime_class =
        setting(a, "k8s-runtime-class", "ENCLAVE_K8S_RUNTIME_CLASS", kcfg.runtime_class);
    kcfg.egress_policy = egress_policy;
    std::string quota = setting(a, "k8s-org-quota", "ENCLAVE_K8S_ORG_QUOTA", "");
    if (!quota.empty()) {
      int pods = 0, cpu = 0, mem = 0;
      char end = 0;
      if (std::sscanf(quota.c_str(), "%d,%d,%d%c", &pods, &cpu, &mem, &end) != 3 || pods < 1 ||
          cpu < 1 || mem < 1)
        usage_error("--k8s-org-quota must be PODS,CPU_MILLIS,MEMORY_MB, got '" + quota + "'");
      kcfg.org_quota = {pods, cpu, mem};
    }
    auto probe = backends::probe_kubernetes(kcfg);
    if (!probe.ok) {
      std::cerr << "enclaved: the kubernetes backend cannot reach a usable cluster: "
                << probe.message << "\n";
      return 1;
    }
    spdlog::info("kubernetes backend: {}", probe.message);
    factory = [kcfg](backends::Sink sink) {
      return backends::make_kubernetes_backend(kcfg, std::move(sink));
    };
#else
    std::cerr << "enclaved: this build has no kubernetes backend (backends/kubernetes was not "
                 "built); use --backend gvisor or --backend simulator\n";
    return 1;
#endif
  } else {
    usage_error("--backend must be gvisor, simulator or kubernetes, got '" + backend + "'");
  }

  // Signals are taken by sigwait below: block them before any thread starts, ignore SIGPIPE.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Signed tree heads: the key is loaded before anything opens, so a bad key stops the start.
  std::optional<storage::SigningKey> signing_key;
  if (auto path = setting(a, "signing-key", "ENCLAVE_SIGNING_KEY", ""); !path.empty()) {
    auto k = storage::SigningKey::load_file(path);
    if (!k) {
      std::cerr << "enclaved: " << k.error().message << "\n";
      return 1;
    }
    signing_key = std::move(*k);
  }
  storage::SthOptions sth_opts;
  sth_opts.anchor_dir = setting(a, "anchor-dir", "ENCLAVE_ANCHOR_DIR", "");
  sth_opts.interval_s = parse_int(
      "--sth-interval-s", setting(a, "sth-interval-s", "ENCLAVE_STH_INTERVAL_S", "10"), 1, 86400);
  if (!signing_key && !sth_opts.anchor_dir.empty())
    usage_error("--anchor-dir needs --signing-key (there are no tree heads to anchor without one)");
  // The final tree head is signed while the engine closes, after its last append.
  auto sth = std::make_shared<std::unique_ptr<storage::SthService>>();

  EngineConfig cfg;
  cfg.on_close = [sth] {
    if (*sth) (*sth)->stop();
  };
  cfg.data_dir = data_dir;
  cfg.max_concurrency = static_cast<uint32_t>(max_conc);
  cfg.policy.idle_ttl_ms = idle_ttl * 1000;
  cfg.policy.max_lifetime_ms = lifetime * 1000;
  cfg.policy.max_cumulative_ms = static_cast<uint64_t>(cumulative);
  cfg.policy.pause_on_idle = on_idle == "pause";
  cfg.policy.paused_max_ms = paused_max * 1000;
  cfg.min_free_disk_mb = static_cast<uint64_t>(min_free_mb);
  cfg.org_storage_mb = static_cast<uint64_t>(org_storage_mb);
  cfg.org_storage_mb_for = std::move(org_storage_mb_for);
  cfg.egress = egress_policy;
  auto engine = Engine::open(cfg, factory);
  if (!engine.ok()) {
    spdlog::error("cannot open the engine (data dir {}): {}", data_dir, engine.error().message);
    return 1;
  }
  std::unique_ptr<Engine> eng = std::move(engine.value());

  if (auth_disabled) {
    spdlog::warn(
        "authentication is DISABLED (--auth disabled): every request acts as org "
        "'default', role owner. Loopback only; never expose this server.");
  }
  browsers.loopback_host_only = auth_disabled;
  http::ApiOptions api_opts;
  api_opts.auth_disabled = auth_disabled;
  api_opts.metrics_public = metrics_public == "1" || metrics_public == "true";
  if (signing_key) {
    *sth =
        std::make_unique<storage::SthService>(eng->event_log(), std::move(signing_key), sth_opts);
    (*sth)->start();
    spdlog::info("signing tree heads every {} s (key id {}){}", sth_opts.interval_s,
                 (*sth)->public_key()->key_id(),
                 sth_opts.anchor_dir.empty() ? "" : ", anchored in " + sth_opts.anchor_dir);
  }
  api_opts.sth = sth->get();
  http::Api api(eng.get(), api_opts);
  http::e2b::AdapterOptions e2b_opts;
  e2b_opts.auth_disabled = auth_disabled;
  e2b_opts.policy.max_timeout_seconds = static_cast<int32_t>(std::min<int64_t>(lifetime, 1 << 30));
  e2b_opts.policy.internet_allow = e2b_internet;
  http::e2b::Adapter e2b_adapter(eng.get(), e2b_opts);
  bool e2b_on = e2b == "on";
  http::ServerOptions sopts;
  sopts.host = addr->host;
  sopts.port = addr->port;
  // Every request, native or E2B, passes the browser Origin rule first (http/browser_guard.h).
  auto server = http::Server::start(
      sopts, http::guard_browsers(
                 browsers, [&api, &e2b_adapter, e2b_on](http::Request req, http::Reply reply) {
                   if (e2b_on && http::e2b::Adapter::owns(http::split_target(req.target).path)) {
                     return e2b_adapter.handle(std::move(req), std::move(reply));
                   }
                   api.handle(std::move(req), std::move(reply));
                 }));
  if (!server.ok()) {
    spdlog::error("{}", server.error().message);
    api.detach();
    e2b_adapter.detach();
    eng.reset();
    return 1;
  }
  std::unique_ptr<http::Server> srv = std::move(server.value());
  spdlog::info(
      "enclaved listening on {}:{} (backend {}, data dir {}, max concurrency {}, auth {}, "
      "E2B compatibility {}, /metrics {}, extra browser origins {})",
      addr->host, srv->port(), eng->backend_name(), data_dir, max_conc, auth, e2b,
      api_opts.metrics_public ? "public" : "keyed", browsers.allowed_origins.size());

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  srv->stop();  // no new requests; io threads joined
  // Running interactive sessions are checkpointed, so the next start resumes them.
  if (size_t n = eng->pause_all_for_restart(std::chrono::seconds(20)); n > 0)
    spdlog::info("paused {} interactive sessions for the restart", n);
  api.detach();  // late unsubscribes become no-ops
  e2b_adapter.detach();
  eng.reset();  // actors, backend threads, log
  srv.reset();  // open connections dropped
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Private at rest: nothing this process creates (log, keys, bundles, sockets' dirs) is readable
  // by another uid — sandboxes run as uid 65534 on this host.
  ::umask(077);
  if (argc >= 2 && std::string(argv[1]) == "keys") return keys_main(argc, argv);
  if (argc >= 2 && std::string(argv[1]) == "orgs") return orgs_main(argc, argv);
  if (argc >= 2 && std::string(argv[1]) == "signing-key") {
    if (argc != 4 || std::string(argv[2]) != "create")
      usage_error("signing-key: expected `signing-key create FILE`");
    auto r = storage::SigningKey::create_file(argv[3]);
    if (!r) {
      std::cerr << "enclaved signing-key create: " << r.error().message << "\n";
      return 1;
    }
    auto k = storage::SigningKey::load_file(argv[3]);
    std::cout << "wrote " << argv[3] << " (Ed25519, mode 0600); key id "
              << (k ? k->public_key().key_id() : std::string("?")) << "\n";
    return 0;
  }
  int first = 1;
  if (argc >= 2 && std::string(argv[1]) == "serve") first = 2;
  return serve_main(argc, argv, first);
}
