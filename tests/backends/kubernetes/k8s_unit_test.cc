// The Kubernetes backend's pure parts: object specs, kubeconfig parsing, watch stream parsing,
// exec channel framing and the turn protocol, the pod log.
#define BOOST_TEST_MODULE k8s_unit_test
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <deque>

#include "backends/kubernetes/egress_resolve.h"
#include "backends/kubernetes/exec_stream.h"
#include "backends/kubernetes/json.h"
#include "backends/kubernetes/kubeconfig.h"
#include "backends/kubernetes/namespace_watch.h"
#include "backends/kubernetes/objects.h"
#include "backends/kubernetes/pod_exit.h"
#include "backends/kubernetes/pod_log.h"
#include "backends/kubernetes/pod_watch.h"

using namespace enclave::backends::k8s;

namespace {

PodParams params(bool interactive) {
  PodParams p;
  p.ns = "enclave-acme";
  p.session_id = std::string(32, 'a');
  p.org_id = "acme";
  p.image = "python:3.11-slim";
  p.runtime_class = "gvisor";
  p.interactive = interactive;
  p.limits.set_memory_mb(256);
  p.limits.set_cpu_millis(500);
  p.limits.set_pids(64);
  p.limits.set_wall_clock_seconds(30);
  p.limits.set_disk_mb(64);
  p.env["FOO"] = "bar";
  p.active_deadline_seconds = 35;
  return p;
}

const Json& container0(const Json& pod) { return *list_at(pod, "spec.containers").at(0); }

}  // namespace

BOOST_AUTO_TEST_CASE(namespace_names_are_per_org_and_never_collide) {
  BOOST_TEST(namespace_for_org("acme") == "enclave-acme");
  BOOST_TEST(namespace_for_org("default") == "enclave-default");
  // Mangled ids get a hash suffix: two ids that filter to the same text stay apart.
  std::string a = namespace_for_org("Acme"), b = namespace_for_org("acme_"),
              c = namespace_for_org("acme-");
  BOOST_TEST(a != "enclave-acme");
  BOOST_TEST(a != b);
  BOOST_TEST(b != c);
  std::string longid(200, 'x');
  BOOST_TEST(namespace_for_org(longid).size() <= 63u);
  BOOST_TEST(org_label_value(longid).size() <= 63u);
  for (char ch : namespace_for_org("ORG/../x y"))
    BOOST_TEST(((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'));
}

BOOST_AUTO_TEST_CASE(pod_is_locked_down) {
  Json pod = session_pod(params(false));
  BOOST_TEST(str_at(pod, "metadata.namespace") == "enclave-acme");
  BOOST_TEST(label_of(pod, kSessionLabel) == std::string(32, 'a'));
  BOOST_TEST(label_of(pod, kOrgLabel) == "acme");
  BOOST_TEST(label_of(pod, kManagedBy) == "enclave");
  BOOST_TEST(str_at(pod, "spec.runtimeClassName") == "gvisor");
  BOOST_TEST(bool_at(pod, "spec.automountServiceAccountToken", true) == false);
  BOOST_TEST(str_at(pod, "spec.serviceAccountName") == kServiceAccount);
  BOOST_TEST(bool_at(pod, "spec.enableServiceLinks", true) == false);
  BOOST_TEST(str_at(pod, "spec.restartPolicy") == "Never");
  BOOST_TEST(num_at(pod, "spec.activeDeadlineSeconds") == 35);
  BOOST_TEST(bool_at(pod, "spec.securityContext.runAsNonRoot") == true);
  BOOST_TEST(str_at(pod, "spec.securityContext.seccompProfile.type") == "RuntimeDefault");
  const Json& c = container0(pod);
  BOOST_TEST(bool_at(c, "securityContext.readOnlyRootFilesystem") == true);
  BOOST_TEST(bool_at(c, "securityContext.allowPrivilegeEscalation", true) == false);
  BOOST_TEST(bool_at(c, "securityContext.runAsNonRoot") == true);
  BOOST_TEST(num_at(c, "securityContext.runAsUser") == 65534);
  auto drop = list_at(c, "securityContext.capabilities.drop");
  BOOST_TEST_REQUIRE(drop.size() == 1u);
  BOOST_TEST(drop[0]->string_value() == "ALL");
  BOOST_TEST(str_at(c, "securityContext.seccompProfile.type") == "RuntimeDefault");
  BOOST_TEST(str_at(c, "resources.limits.memory") == "256Mi");
  BOOST_TEST(str_at(c, "resources.limits.cpu") == "500m");
  BOOST_TEST(str_at(c, "resources.requests.memory") == "256Mi");
  BOOST_TEST(at(c, "startupProbe") == nullptr);
  BOOST_TEST(at(c, "readinessProbe") == nullptr);
  // No credential reaches the pod: no token volume, no secret, env is only what the spec gave.
  std::string text = to_text(pod);
  BOOST_TEST(text.find("secret") == std::string::npos);
  BOOST_TEST(text.find("serviceAccountToken") == std::string::npos);
  BOOST_TEST(text.find("projected") == std::string::npos);
  auto env = list_at(c, "env");
  BOOST_TEST(env.size() == 3u);  // HOME, LANG, FOO
  auto cmd = list_at(c, "command");
  BOOST_TEST(cmd.at(5)->string_value() == "batch");
}

BOOST_AUTO_TEST_CASE(interactive_pod_is_ready_after_setup) {
  Json pod = session_pod(params(true));
  const Json& c = container0(pod);
  BOOST_TEST(list_at(c, "command").at(5)->string_value() == "kernel");
  BOOST_TEST(at(c, "readinessProbe") == nullptr);                // probes stop once setup ran
  BOOST_TEST(num_at(c, "startupProbe.failureThreshold") == 35);  // never before the deadline
  auto probe = list_at(c, "startupProbe.exec.command");
  BOOST_TEST_REQUIRE(!probe.empty());
  BOOST_TEST(probe.back()->string_value() == "ready");
}

BOOST_AUTO_TEST_CASE(org_objects) {
  Json deny = default_deny_policy("enclave-acme");
  BOOST_TEST(at(deny, "spec.podSelector")->has_struct_value());
  BOOST_TEST(at(deny, "spec.podSelector")->struct_value().fields_size() == 0);
  auto types = list_at(deny, "spec.policyTypes");
  BOOST_TEST(types.size() == 2u);
  BOOST_TEST(at(deny, "spec.ingress") == nullptr);
  BOOST_TEST(at(deny, "spec.egress") == nullptr);
  Json q = resource_quota("enclave-acme", OrgQuota{10, 4000, 2048});
  BOOST_TEST(str_at(q, "spec.hard.pods") == "10");
  BOOST_TEST(at(q, "spec.hard")->struct_value().fields().at("limits.memory").string_value() ==
             "2048Mi");
  BOOST_TEST(at(q, "spec.hard")->struct_value().fields().at("requests.cpu").string_value() ==
             "4000m");
  Json sa = service_account_object("enclave-acme");
  BOOST_TEST(bool_at(sa, "automountServiceAccountToken", true) == false);
  Json ns = namespace_object("enclave-acme", "acme");
  BOOST_TEST(annotation_of(ns, kOrgAnnotation) == "acme");
  BOOST_TEST(label_of(ns, "pod-security.kubernetes.io/enforce") == "restricted");
}

BOOST_AUTO_TEST_CASE(allow_list_addresses_obey_the_server_egress_policy) {
  // The attack: an allow-list naming the host's API by a loopback name, or an internal literal,
  // becomes a NetworkPolicy ipBlock. Refused addresses get no rule and are reported instead.
  enclave::events::Egress e;
  e.set_mode("allow_list");
  e.add_allow("203.0.113.7:443");
  e.add_allow("10.0.0.1:22");
  e.add_allow("localhost:8090");
  std::vector<EgressRule> rules;
  std::vector<RefusedAddress> refused;
  BOOST_TEST_REQUIRE(resolve_egress(e, enclave::egress::Policy{}, &rules, &refused) == "");
  BOOST_TEST_REQUIRE(rules.size() == 1u);
  BOOST_TEST(rules[0].cidrs == std::vector<std::string>{"203.0.113.7/32"});
  BOOST_TEST(rules[0].port == 443u);
  BOOST_TEST_REQUIRE(refused.size() >= 2u);
  BOOST_TEST(refused[0].host == "10.0.0.1");
  BOOST_TEST(refused[0].ip == "10.0.0.1");
  BOOST_TEST(refused[0].range == "private");
  for (size_t i = 1; i < refused.size(); ++i) {
    BOOST_TEST(refused[i].host == "localhost");
    BOOST_TEST(refused[i].port == 8090u);
    BOOST_TEST(refused[i].range == "loopback");
  }
  // The operator's permit list opens exactly its range.
  enclave::egress::Policy permit;
  permit.permit = {*enclave::egress::parse_cidr("10.0.0.0/8")};
  rules.clear();
  refused.clear();
  BOOST_TEST_REQUIRE(resolve_egress(e, permit, &rules, &refused) == "");
  BOOST_TEST_REQUIRE(rules.size() == 2u);
  BOOST_TEST(rules[1].cidrs == std::vector<std::string>{"10.0.0.1/32"});
  for (const auto& r : refused) BOOST_TEST(r.host == "localhost");
}

BOOST_AUTO_TEST_CASE(egress_policy_allows_exactly_the_list) {
  std::vector<EgressRule> rules{{{"203.0.113.7/32"}, 443, false},
                                {{"198.51.100.1/32", "198.51.100.2/32"}, 80, true}};
  Json p = egress_policy("enclave-acme", std::string(32, 'b'), "acme", rules);
  BOOST_TEST(str_at(p, "spec.podSelector.matchLabels") == "");
  const Json* ml = at(p, "spec.podSelector.matchLabels");
  BOOST_TEST(ml->struct_value().fields().at(kSessionLabel).string_value() == std::string(32, 'b'));
  auto egress = list_at(p, "spec.egress");
  BOOST_TEST_REQUIRE(egress.size() == 3u);  // two destinations + DNS for the hostname
  BOOST_TEST(str_at(*list_at(*egress[0], "to").at(0), "ipBlock.cidr") == "203.0.113.7/32");
  BOOST_TEST(num_at(*list_at(*egress[0], "ports").at(0), "port") == 443);
  BOOST_TEST(list_at(*egress[1], "to").size() == 2u);
  BOOST_TEST(at(*egress[2], "to") == nullptr);
  BOOST_TEST(num_at(*list_at(*egress[2], "ports").at(0), "port") == 53);
  Json none = egress_policy("ns", std::string(32, 'b'), "acme", {{{"10.0.0.1/32"}, 80, false}});
  BOOST_TEST(list_at(none, "spec.egress").size() == 1u);
}

BOOST_AUTO_TEST_CASE(host_port_entries) {
  std::string h;
  uint32_t p = 0;
  BOOST_TEST(split_host_port("example.com:443", &h, &p));
  BOOST_TEST(h == "example.com");
  BOOST_TEST(p == 443u);
  BOOST_TEST(split_host_port("[2001:db8::1]:80", &h, &p));
  BOOST_TEST(h == "2001:db8::1");
  BOOST_TEST(!split_host_port("example.com", &h, &p));
  BOOST_TEST(!split_host_port("example.com:0", &h, &p));
  BOOST_TEST(!split_host_port("example.com:70000", &h, &p));
  BOOST_TEST(!split_host_port(":80", &h, &p));
}

BOOST_AUTO_TEST_CASE(kubeconfig_inline_and_errors) {
  const std::string base = R"(apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster:
    server: https://10.1.2.3:6443
    certificate-authority-data: UEVN
users:
- name: u1
  user:
    token: abc.def
contexts:
- name: ctx
  context:
    cluster: c1
    user: u1
    namespace: ignored
current-context: ctx
)";
  Kubeconfig k;
  BOOST_TEST(parse_kubeconfig(base, "/nonexistent", &k) == "");
  BOOST_TEST(k.host == "10.1.2.3");
  BOOST_TEST(k.port == "6443");
  BOOST_TEST(k.ca_pem == "PEM");
  BOOST_TEST(k.token == "abc.def");
  std::string http = base;
  http.replace(http.find("https://"), 8, "http://");
  BOOST_TEST(parse_kubeconfig(http, "/", &k).find("https") != std::string::npos);
  std::string insecure = base;
  insecure.replace(insecure.find("    certificate-authority-data: UEVN"), 36,
                   "    insecure-skip-tls-verify: true");
  BOOST_TEST(parse_kubeconfig(insecure, "/", &k).find("insecure") != std::string::npos);
  std::string nouser = base;
  nouser.replace(nouser.find("    token: abc.def"), 18, "    username: x");
  BOOST_TEST(parse_kubeconfig(nouser, "/", &k).find("neither a token") != std::string::npos);
  std::string missing = base;
  missing.replace(missing.find("    certificate-authority-data: UEVN"), 36,
                  "    certificate-authority: ca.crt");
  BOOST_TEST(parse_kubeconfig(missing, "/nonexistent", &k).find("cannot read") !=
             std::string::npos);
  BOOST_TEST(parse_kubeconfig("{{{", "/", &k) != "");
}

BOOST_AUTO_TEST_CASE(watch_lines_split_in_any_chunking) {
  LineSplitter s;
  auto a = s.feed("{\"a\":1}\n{\"b\"");
  BOOST_TEST(a.size() == 1u);
  auto b = s.feed(":2}\n\n{\"c\":3");
  BOOST_TEST(b.size() == 1u);
  BOOST_TEST(b[0] == "{\"b\":2}");
  BOOST_TEST(s.feed("}\n").size() == 1u);
  LineSplitter small(8);
  auto c = small.feed("0123456789abc\nok\n");
  BOOST_TEST(c.size() == 1u);
  BOOST_TEST(c[0] == "ok");
  BOOST_TEST(small.overflowed());
}

BOOST_AUTO_TEST_CASE(watch_events_become_pod_views) {
  const std::string sid(32, 'c');
  std::string running =
      R"({"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":"enclave-x","namespace":"enclave-acme","resourceVersion":"42","labels":{"enclave.dev/session":")" +
      sid +
      R"(","enclave.dev/org":"acme"}},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[{"name":"sandbox","state":{"running":{"startedAt":"2026-11-23T14:00:00Z"}}}]}}})";
  WatchEvent e = parse_watch_line(running);
  BOOST_TEST(static_cast<int>(e.type) == static_cast<int>(WatchEvent::Type::kModified));
  BOOST_TEST(e.resource_version == "42");
  BOOST_TEST(e.pod.session_id == sid);
  BOOST_TEST(e.pod.ns == "enclave-acme");
  BOOST_TEST(e.pod.container_running);
  BOOST_TEST(e.pod.ready);
  BOOST_TEST(!pod_finished(e.pod));
  std::string done =
      R"({"type":"MODIFIED","object":{"metadata":{"resourceVersion":"43"},"status":{"phase":"Failed","reason":"DeadlineExceeded","containerStatuses":[{"name":"sandbox","state":{"terminated":{"exitCode":137,"reason":"OOMKilled","startedAt":"2026-11-23T14:00:00Z","finishedAt":"2026-11-23T14:00:07Z"}}}]}}})";
  WatchEvent d = parse_watch_line(done);
  BOOST_TEST(pod_finished(d.pod));
  BOOST_TEST(d.pod.terminated);
  BOOST_TEST(d.pod.exit_code == 137);
  BOOST_TEST(d.pod.reason == "OOMKilled");
  BOOST_TEST(d.pod.pod_reason == "DeadlineExceeded");
  BOOST_TEST(seconds_between(d.pod.started_at, d.pod.finished_at) == 7);
  WatchEvent gone = parse_watch_line(
      R"({"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old resource version"}})");
  BOOST_TEST(static_cast<int>(gone.type) == static_cast<int>(WatchEvent::Type::kError));
  BOOST_TEST(gone.error_code == 410);
  WatchEvent bm = parse_watch_line(
      R"({"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"99"}}})");
  BOOST_TEST(static_cast<int>(bm.type) == static_cast<int>(WatchEvent::Type::kBookmark));
  BOOST_TEST(bm.resource_version == "99");
  BOOST_TEST(static_cast<int>(parse_watch_line("not json").type) ==
             static_cast<int>(WatchEvent::Type::kMalformed));
  WatchEvent pending = parse_watch_line(
      R"({"type":"ADDED","object":{"metadata":{"deletionTimestamp":"2026-11-23T14:00:00Z"},"status":{"containerStatuses":[{"name":"sandbox","state":{"waiting":{"reason":"ErrImagePull"}}}]}}})");
  BOOST_TEST(static_cast<int>(pending.pod.phase) == static_cast<int>(PodPhase::kPending));
  BOOST_TEST(pending.pod.deleting);
  BOOST_TEST(pending.pod.waiting_reason == "ErrImagePull");
}

BOOST_AUTO_TEST_CASE(exec_channels_and_status) {
  std::string t = exec_target("enclave-acme", "enclave-x", "sandbox", {"python3", "-I", "a b"});
  BOOST_TEST(t ==
             "/api/v1/namespaces/enclave-acme/pods/enclave-x/exec?container=sandbox"
             "&command=python3&command=-I&command=a%20b&stdin=true&stdout=true&stderr=true");
  BOOST_TEST(stdin_message("hi") == std::string("\0hi", 3));
  const std::string msg("\x01out", 4);
  auto m = decode_channel_message(msg);
  BOOST_TEST(m.channel == 1);
  BOOST_TEST(m.payload == "out");
  BOOST_TEST(decode_channel_message("").channel == -1);
  auto ok = parse_exec_status(R"({"metadata":{},"status":"Success"})");
  BOOST_TEST(ok.success);
  BOOST_TEST(*ok.exit_code == 0);
  auto rc = parse_exec_status(
      R"({"status":"Failure","reason":"NonZeroExitCode","message":"exit 3","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})");
  BOOST_TEST(!rc.success);
  BOOST_TEST(*rc.exit_code == 3);
  auto other =
      parse_exec_status(R"({"status":"Failure","reason":"InternalError","message":"boom"})");
  BOOST_TEST(!other.exit_code.has_value());
  BOOST_TEST(other.message == "boom");
}

BOOST_AUTO_TEST_CASE(turn_protocol_round_trip) {
  std::string req = turn_request(7, "print(1)");
  BOOST_TEST(req.size() == 9u + 8u);
  BOOST_TEST(req[4] == 'T');
  BOOST_TEST(static_cast<int>(req[8]) == 7);
  auto frame = [](char kind, const std::string& payload) {
    uint32_t n = static_cast<uint32_t>(payload.size() + 1);
    std::string f;
    for (int s = 24; s >= 0; s -= 8) f += static_cast<char>((n >> s) & 0xff);
    return f + kind + payload;
  };
  std::string stream = frame('o', "1\n") + frame('R', "{\"a\":1}") + frame('O', "1\n") +
                       frame('E', "") + frame('D', "7 0 12");
  TurnCollector c;
  for (char ch : stream) BOOST_TEST_REQUIRE(c.feed(std::string(1, ch)));  // byte by byte
  BOOST_TEST(c.done());
  auto t = c.turn();
  BOOST_TEST(t.turn() == 7u);
  BOOST_TEST(t.stdout() == "1\n");
  BOOST_TEST(t.json() == "{\"a\":1}");
  BOOST_TEST(t.has_exit_code());
  BOOST_TEST(t.exit_code() == 0);
  BOOST_TEST(t.duration_ms() == 12u);
  auto live = c.take_live();
  BOOST_TEST(live.size() == 1u);
  TurnCollector bad(16);
  BOOST_TEST(!bad.feed(frame('O', std::string(100, 'x'))));
}

BOOST_AUTO_TEST_CASE(pod_log_cannot_be_forged_by_printing) {
  // The workload printed a JSON line that looks like a result: it is inside a base64 chunk.
  std::string log =
      "{\"o\":\"eyJyIjoiNDIifQo=\"}\n"  // base64 of {"r":"42"}\n
      "{\"e\":\"b29wcw==\"}\n"
      "{\"r\":\"{\\\"value\\\":1}\"}\n"
      "{\"n\":[2000000,4]}\n"
      "{\"x\":3}\n";
  PodLog p = parse_pod_log(log);
  BOOST_TEST(p.stdout_text == "{\"r\":\"42\"}\n");
  BOOST_TEST(p.stderr_text == "oops");
  BOOST_TEST(p.result_json == "{\"value\":1}");
  BOOST_TEST(p.stdout_bytes == 2000000u);
  BOOST_TEST(*p.exit_code == 3);
  BOOST_TEST(p.malformed_lines == 0);
  PodLog cut = parse_pod_log("{\"o\":\"aGk=\"}\n{\"x\":");
  BOOST_TEST(cut.stdout_text == "hi");
  BOOST_TEST(!cut.exit_code.has_value());
  BOOST_TEST(cut.malformed_lines == 1);
  BOOST_TEST(cut.stdout_bytes == 2u);
}

BOOST_AUTO_TEST_CASE(pod_exit_reports) {
  auto view = [](const std::string& phase_line) { return parse_watch_line(phase_line).pod; };
  PodExitFacts ok;
  ok.pod_name = "enclave-x";
  ok.started = true;
  ok.log_read = true;
  ok.log = parse_pod_log("{\"o\":\"aGk=\"}\n{\"r\":\"1\"}\n{\"n\":[2,0]}\n{\"x\":0}\n");
  ok.wall_ms = 1234;
  ok.pod = view(
      R"({"type":"MODIFIED","object":{"status":{"phase":"Succeeded","containerStatuses":[{"name":"sandbox","state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}}})");
  auto e = report_pod_exit(ok);
  BOOST_TEST(e.exit.exit_code() == 0);
  BOOST_TEST(e.exit.stdout() == "hi");
  BOOST_TEST(e.exit.json() == "1");
  BOOST_TEST(e.usage.wall_ms() == 1234u);
  BOOST_TEST(static_cast<int>(e.exit.observed()) ==
             static_cast<int>(enclave::events::KILL_REASON_NONE));
  BOOST_TEST(e.exit.detail().find("not observable") != std::string::npos);

  PodExitFacts oom = ok;
  oom.pod = view(
      R"({"type":"MODIFIED","object":{"status":{"phase":"Failed","containerStatuses":[{"name":"sandbox","state":{"terminated":{"exitCode":137,"reason":"OOMKilled"}}}]}}})");
  e = report_pod_exit(oom);
  BOOST_TEST(e.exit.exit_code() == 137);
  BOOST_TEST(static_cast<int>(e.exit.observed()) ==
             static_cast<int>(enclave::events::KILL_REASON_MEMORY_EXCEEDED));

  PodExitFacts deadline = ok;
  deadline.log = PodLog{};
  deadline.pod = view(
      R"({"type":"MODIFIED","object":{"status":{"phase":"Failed","reason":"DeadlineExceeded","containerStatuses":[{"name":"sandbox","state":{"running":{}}}]}}})");
  e = report_pod_exit(deadline);
  BOOST_TEST(e.exit.exit_code() == 137);
  BOOST_TEST(static_cast<int>(e.exit.observed()) ==
             static_cast<int>(enclave::events::KILL_REASON_WALL_CLOCK_EXCEEDED));

  PodExitFacts never = ok;
  never.started = false;
  never.pod = view(
      R"({"type":"MODIFIED","object":{"status":{"phase":"Pending","containerStatuses":[{"name":"sandbox","state":{"waiting":{"reason":"ErrImagePull","message":"no registry"}}}]}}})");
  BOOST_TEST(pod_cannot_start(*never.pod));
  e = report_pod_exit(never);
  BOOST_TEST(e.exit.exit_code() == -1);
  BOOST_TEST(e.exit.detail().find("ErrImagePull (no registry)") != std::string::npos);
  BOOST_TEST(e.usage.wall_ms() == 0u);

  PodExitFacts killed = ok;
  killed.pod.reset();
  killed.ended_because = "killed: torn_down";
  killed.extra = " forced.";
  e = report_pod_exit(killed);
  BOOST_TEST(e.exit.exit_code() == 137);
  BOOST_TEST(e.exit.detail().rfind("killed: torn_down. ", 0) == 0);
  BOOST_TEST(e.exit.detail().find(" forced.") != std::string::npos);
  BOOST_TEST(e.exit.json() == "1");  // what the log held up to the kill

  PodExitFacts nolog = ok;
  nolog.log_read = false;
  nolog.log = PodLog{};
  nolog.log_error = "status 404";
  e = report_pod_exit(nolog);
  BOOST_TEST(e.exit.detail().find("Log not readable: status 404") != std::string::npos);
}

namespace {

// Answers the watch's calls from a script and records them; stops the watch when it runs out.
class ScriptedApi final : public ApiClient {
 public:
  struct Answer {
    int status;
    std::string body;  // list: whole body; watch: the stream's bytes
    std::string error;
  };
  std::deque<Answer> answers;
  std::vector<std::string> targets;
  std::atomic<bool>* stop = nullptr;

  HttpResult next(const std::string& target) {
    targets.push_back(target);
    if (answers.empty()) {
      *stop = true;
      return {0, "", "script ended"};
    }
    Answer a = answers.front();
    answers.pop_front();
    return {a.status, a.body, a.error};
  }
  HttpResult request(const std::string&, const std::string& target, const std::string&,
                     const std::string&, std::chrono::milliseconds) override {
    return next(target);
  }
  HttpResult stream(const std::string& target, const std::function<bool(std::string_view)>& on,
                    const std::atomic<bool>&, std::chrono::milliseconds) override {
    HttpResult r = next(target);
    if (r.status == 200) {
      for (size_t i = 0; i < r.body.size(); i += 7)  // in awkward chunks
        if (!on(std::string_view(r.body).substr(i, 7))) break;
      r.body.clear();
    }
    return r;
  }
  HttpResult websocket(const std::string&, const std::string&, const std::string&,
                       const std::function<bool(std::string_view)>&, const std::atomic<bool>&,
                       std::chrono::milliseconds) override {
    return {0, "", "not scripted"};
  }
};

std::string pod_json(const std::string& sid, const std::string& rv, const std::string& phase) {
  return R"({"metadata":{"name":"enclave-)" + sid + R"(","namespace":"ns","resourceVersion":")" +
         rv + R"(","labels":{"enclave.dev/session":")" + sid + R"("}},"status":{"phase":")" +
         phase + R"("}})";
}

}  // namespace

BOOST_AUTO_TEST_CASE(namespace_watch_resumes_and_relists) {
  std::atomic<bool> stop{false};
  ScriptedApi api;
  api.stop = &stop;
  const std::string a(32, 'a'), b(32, 'b');
  api.answers = {
      {200,
       R"({"metadata":{"resourceVersion":"10"},"items":[)" + pod_json(a, "9", "Running") + "]}",
       ""},
      // A watch: a modification, a bookmark, then the server's timeout ends it cleanly.
      {200,
       R"({"type":"MODIFIED","object":)" + pod_json(a, "11", "Succeeded") + "}\n" +
           R"({"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"15"}}})" +
           "\n",
       ""},
      // Resumed from the bookmark: 410 Gone as an ERROR event → list again.
      {200,
       R"({"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old"}})"
       "\n",
       ""},
      {200, R"({"metadata":{"resourceVersion":"30"},"items":[]})", ""},
      // A broken stream after one event → list again (events may have been lost).
      {200, R"({"type":"ADDED","object":)" + pod_json(b, "31", "Pending") + "}\n", "read: eof"},
      {200,
       R"({"metadata":{"resourceVersion":"40"},"items":[)" + pod_json(b, "32", "Running") + "]}",
       ""},
  };
  std::vector<std::string> seen;
  std::vector<std::set<std::string>> lists;
  int pauses = 0;
  watch_namespace_pods(
      api, "ns", "sel", stop,
      {[&](const PodView& v) {
         seen.push_back(v.session_id.substr(0, 1) + ":" + v.resource_version);
       },
       [&](const std::string&) {}, [&](const std::set<std::string>& p) { lists.push_back(p); },
       [&](std::chrono::milliseconds) {
         ++pauses;
         return true;
       }});
  BOOST_TEST_REQUIRE(api.targets.size() >= 7u);
  BOOST_TEST(api.targets[0] == "/api/v1/namespaces/ns/pods?labelSelector=sel");
  BOOST_TEST(api.targets[1].find("watch=1") != std::string::npos);
  BOOST_TEST(api.targets[1].find("resourceVersion=10") != std::string::npos);
  BOOST_TEST(api.targets[2].find("resourceVersion=15") != std::string::npos);  // the bookmark
  BOOST_TEST(api.targets[3].find("watch=1") == std::string::npos);             // 410 → list
  BOOST_TEST(api.targets[4].find("resourceVersion=30") != std::string::npos);
  BOOST_TEST(api.targets[5].find("watch=1") == std::string::npos);  // broken → list
  BOOST_TEST(api.targets[6].find("resourceVersion=40") != std::string::npos);
  std::vector<std::string> want{"a:9", "a:11", "b:31", "b:32"};
  BOOST_TEST(seen == want, boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(lists.size() == 3u);
  BOOST_TEST(lists[1].empty());
  BOOST_TEST(pauses == 2);  // after the broken stream, and after the script's end
}
