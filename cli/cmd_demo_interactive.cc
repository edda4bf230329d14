// `enclave demo interactive-session`: one warm kernel across three turns, then silence until
// the idle-TTL reaper ends it. Eight checks, each an assertion.
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/demo.h"
#include "cli/json.h"

namespace enclave::cli {

namespace {

const char* kTurn1 = "x = 41\ndataset = [10, 11, 12, 13, 14]\n";
const char* kTurn2 =
    "print(f\"prior x was {x}, answer = {x + 1}\")\n"
    "#@sim stdout=\"prior x was 41, answer = 42\"\n";
const char* kTurn3 =
    "enclave.result({\"x\": str(x), \"answer\": str(x + 1), \"dataset\": str(dataset), "
    "\"turns\": 3})\n"
    "#@sim result={\"x\":\"41\",\"answer\":\"42\",\"dataset\":\"[10, 11, 12, 13, 14]\","
    "\"turns\":3}\n";
const char* kExpected =
    "{\"x\":\"41\",\"answer\":\"42\",\"dataset\":\"[10, 11, 12, 13, 14]\",\"turns\":3}";

std::string exec_body(const std::string& code) { return "{\"code\":" + json_quote(code) + "}"; }

}  // namespace

int demo_interactive_session(const Args& args) {
  auto o = parse_options(args.words, {"idle-ttl", "evidence"}, {});
  const std::string use = "demo interactive-session [--idle-ttl S] [--evidence DIR]";
  if (!o.error.empty()) return usage(use, o.error);
  long long idle_ttl = 300;
  if (o.has("idle-ttl") && (!parse_uint(o.get("idle-ttl"), &idle_ttl) || idle_ttl < 1))
    return usage(use, "--idle-ttl must be a positive number of seconds (the server's setting)");
  std::string evidence = o.get("evidence", "./evidence");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err, 2);
  DemoReport report("interactive-session");
  Seen seen;

  auto created = demo_request(*api, "POST", "/v1/sessions",
                              "{\"language\":\"python\",\"execMode\":\"interactive\","
                              "\"name\":\"interactive-session-demo\"}");
  seen.add(created.body);
  if (created.status != 201) return fail("could not open a session: " + describe_error(created));
  std::string sid = get_string(parse_json(created.body).value_or(JsonValue{}), "id");
  std::cout << "session " << sid << std::endl;
  auto get = [&] {
    auto r = demo_request(*api, "GET", "/v1/sessions/" + sid);
    seen.add(r.body);
    return parse_json(r.body).value_or(JsonValue{});
  };
  auto wait_for = [&](auto pred, int seconds) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    JsonValue s = get();
    while (!pred(s) && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      s = get();
    }
    return s;
  };
  auto s = wait_for(
      [](const JsonValue& v) {
        return get_string(v, "phase") != "queued" && get_string(v, "phase") != "starting";
      },
      60);
  report.check("reaches running", get_string(s, "phase") == "running",
               "phase " + get_string(s, "phase"));

  auto turn = [&](const char* code) {
    auto r = demo_request(*api, "POST", "/v1/sessions/" + sid + "/exec", exec_body(code));
    seen.add(r.body);
    std::cout << "turn → HTTP " << r.status << " " << r.body.substr(0, 300) << std::endl;
    return std::make_pair(r.status, parse_json(r.body).value_or(JsonValue{}));
  };
  auto [st1, t1] = turn(kTurn1);
  report.check("turn 1 ran",
               st1 == 200 && get_number(t1, "exitCode", -1) == 0 && get_number(t1, "turn") == 1,
               "HTTP " + std::to_string(st1) + ", turn " + display_member(t1, "turn") + ", exit " +
                   display_member(t1, "exitCode"));
  auto [st2, t2] = turn(kTurn2);
  std::string out2 = get_string(t2, "stdout");
  report.check("turn 2 saw turn-1 state",
               st2 == 200 && out2.find("prior x was 41, answer = 42") != std::string::npos,
               "stdout " + json_quote(out2));
  auto [st3, t3] = turn(kTurn3);
  const JsonValue* j3 = member(t3, "json");
  std::string got = j3 ? to_json_text(*j3) : "null";
  auto want = parse_json(kExpected);
  report.check(
      "turn 3 result",
      st3 == 200 && j3 && want && google::protobuf::util::MessageDifferencer::Equals(*want, *j3),
      "json " + got);

  std::cout << "waiting for the idle reaper (idle TTL " << idle_ttl << " s)…" << std::endl;
  s = wait_for([](const JsonValue& v) { return get_bool(v, "tornDown"); },
               static_cast<int>(idle_ttl) + 30);
  std::string phase = get_string(s, "phase"), reason = get_string(s, "killReason");
  report.check("idle session reaped", phase == "killed" && reason == "idle_timeout",
               "phase " + phase + ", killReason " + reason + ", tornDown " +
                   (get_bool(s, "tornDown") ? "true" : "false"));

  auto [st4, t4] = turn("x");
  auto d1 = demo_request(*api, "DELETE", "/v1/sessions/" + sid);
  auto d2 = demo_request(*api, "DELETE", "/v1/sessions/" + sid);
  seen.add(d1.body);
  seen.add(d2.body);
  report.check("refused after reap, teardown idempotent",
               st4 == 409 && d1.status == 200 && d2.status == 200 &&
                   get_string(parse_json(d2.body).value_or(JsonValue{}), "phase") == "killed",
               "turn after reap → " + std::to_string(st4) + ", DELETE → " +
                   std::to_string(d1.status) + ", " + std::to_string(d2.status));

  auto audit = demo_request(*api, "GET", "/v1/sessions/" + sid + "/audit");
  auto result = demo_request(*api, "GET", "/v1/sessions/" + sid + "/result");
  seen.add(audit.body);
  seen.add(result.body);
  report.check("no credential in any answer", !seen.has_jwt(),
               std::to_string(seen.text.size()) + " bytes of views, turns and audit scanned");

  std::vector<std::string> want_order = {"session_created", "sandbox_started", "exec_turn",
                                         "exec_turn",       "exec_turn",       "quota_killed",
                                         "workload_exited", "usage_metered",   "session_torn_down"};
  std::vector<std::string> types;
  auto a = parse_json(audit.body).value_or(JsonValue{});
  if (const JsonValue* evs = member(a, "events"); evs && evs->has_list_value())
    for (const auto& e : evs->list_value().values()) types.push_back(get_string(e, "type"));
  size_t k = 0;
  for (const auto& t : types)
    if (k < want_order.size() && t == want_order[k]) ++k;
  int turns_seen = static_cast<int>(std::count(types.begin(), types.end(), "exec_turn"));
  std::string got_order;
  for (const auto& t : types) got_order += (got_order.empty() ? "" : " ") + t;
  report.check("audit trail in order", k == want_order.size() && turns_seen == 3, got_order);

  std::ostringstream outcome;
  outcome << "{\"sessionId\":" << json_quote(sid) << ",\"finalPhase\":" << json_quote(phase)
          << ",\"killReason\":" << json_quote(reason) << ",\"turn2Stdout\":" << json_quote(out2)
          << ",\"turn3Json\":" << got << ",\"auditTypes\":[";
  for (size_t i = 0; i < types.size(); ++i) outcome << (i ? "," : "") << json_quote(types[i]);
  outcome << "]}";
  auto health = demo_request(*api, "GET", "/v1/healthz");
  std::string backend = get_string(parse_json(health.body).value_or(JsonValue{}), "backend");
  std::string md = "Session `" + sid + "` on **" + backend + "**: ended " + phase + "/" + reason +
                   "; audit: " + got_order + ".\n";
  report.write(evidence,
               "\"finalPhase\":" + json_quote(phase) + ",\"killReason\":" + json_quote(reason) +
                   ",\"backend\":" + json_quote(backend),
               outcome.str(), md);
  std::cout << "interactive-session: " << report.passed() << "/" << report.total()
            << " checks passed" << std::endl;
  return report.passed() == report.total() ? 0 : 1;
}

}  // namespace enclave::cli
