// `enclave demo fleets-at-scale`: one fleet of N clean shards (shard i computes i*i+1) plus a
// hostile member that tries the metadata endpoint and then fork-bombs. Checks the aggregate,
// containment, the fleet phase, that no credential appears anywhere, that the admission
// ceiling held, and (with --multi-org) that another org sees none of it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "cli/demo.h"
#include "cli/fleet_grid.h"
#include "cli/json.h"

namespace enclave::cli {

namespace {

std::string shard_code(long i) {
  long v = i * i + 1;
  std::ostringstream o;
  o << "i = " << i << "\nvalue = i * i + 1\nprint(f\"shard {i}: value={value}\")\n"
    << "enclave.result({\"shard\": i, \"value\": value})\n"
    << "#@sim stdout=\"shard " << i << ": value=" << v << "\"\n"
    << "#@sim result={\"shard\": " << i << ", \"value\": " << v << "}\n";
  return o.str();
}

const char* kHostileCode =
    "import os, urllib.request\n"
    "try:\n"
    "    urllib.request.urlopen(\"http://169.254.169.254/latest/meta-data/\", timeout=3)\n"
    "    print(\"metadata reachable?!\")\n"
    "except Exception as e:\n"
    "    print(\"egress blocked:\", e)\n"
    "while True:\n"
    "    try:\n"
    "        os.fork()\n"
    "    except OSError:\n"
    "        pass\n"
    "#@sim egress=169.254.169.254:80\n"
    "#@sim hang\n";

std::string member_json(const std::string& code, bool hostile) {
  std::string m = "{\"code\":" + json_quote(code) + ",\"language\":\"python\"";
  if (hostile)
    m += ",\"egress\":{\"mode\":\"deny_all\",\"killOnDenied\":true},"
         "\"limits\":{\"wallClockSeconds\":20,\"pids\":32}";
  return m + "}";
}

bool terminal_phase(const std::string& p) {
  return p == "succeeded" || p == "failed" || p == "killed";
}

}  // namespace

int demo_fleets_at_scale(const Args& args) {
  auto o = parse_options(args.words, {"shards", "evidence", "key-b", "timeout"},
                         {"no-hostile", "multi-org"});
  if (!o.error.empty()) return usage("demo fleets-at-scale [--shards N] [--no-hostile] "
                                     "[--multi-org] [--evidence DIR]", o.error);
  long long shards = 100, timeout_s = 900;
  if (o.has("shards") && (!parse_uint(o.get("shards"), &shards) || shards < 1 || shards > 10000))
    return usage("demo fleets-at-scale --shards N", "--shards must be 1..10000");
  if (o.has("timeout") && !parse_uint(o.get("timeout"), &timeout_s))
    return usage("demo fleets-at-scale --timeout S", "--timeout must be seconds");
  bool hostile = !o.flag("no-hostile");
  std::string evidence = o.get("evidence", "./evidence");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err, 2);
  DemoReport report("fleets-at-scale");
  Seen seen;

  // ---- submit ------------------------------------------------------------------------------
  std::string body = "{\"name\":\"fleets-at-scale\",\"members\":[";
  for (long i = 0; i < shards; ++i) body += (i ? "," : "") + member_json(shard_code(i), false);
  if (hostile) body += "," + member_json(kHostileCode, true);
  body += "]}";
  auto created = demo_request(*api, "POST", "/v1/fleets", body);
  seen.add(created.body);
  if (created.status != 201) return fail("could not submit the fleet: " + describe_error(created));
  auto fleet = parse_json(created.body).value_or(JsonValue{});
  std::string fid = get_string(fleet, "id");
  std::cout << "fleet " << fid << ": " << shards << " clean shards" << (hostile ? " + 1 hostile" : "")
            << " against " << api->url.host << ":" << api->url.port << std::endl;

  // ---- watch -------------------------------------------------------------------------------
  bool tty = isatty(1);
  auto t0 = std::chrono::steady_clock::now();
  std::string phase;
  int frames = 0;
  while (true) {
    auto r = demo_request(*api, "GET", "/v1/fleets/" + fid);
    if (r.status == 200) {
      fleet = parse_json(r.body).value_or(JsonValue{});
      phase = get_string(fleet, "phase");
      std::string frame = render_fleet_frame(fleet);
      if (tty) {
        std::cout << (frames ? "\x1b[H\x1b[J" : "\x1b[2J\x1b[H") << frame << std::flush;
      } else if (frames % 25 == 0 || fleet_phase_terminal(phase)) {
        std::cout << frame << std::flush;
      }
      ++frames;
      if (fleet_phase_terminal(phase)) break;
    }
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(timeout_s)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  seen.add(to_json_text(fleet));

  // ---- gather ------------------------------------------------------------------------------
  const JsonValue* members = member(fleet, "members");
  long long aggregate = 0, expected = 0;
  for (long i = 0; i < shards; ++i) expected += i * i + 1;
  int succeeded = 0;
  std::string hostile_phase, hostile_reason, hostile_id;
  std::vector<std::string> denied_hosts;
  struct Mark {
    std::string at;
    int delta;
  };
  std::vector<Mark> marks;
  int ceiling = 0;
  bool leaked = false;
  std::vector<std::string> member_ids;
  if (members && members->has_list_value()) {
    for (const auto& m : members->list_value().values()) {
      long idx = static_cast<long>(get_number(m, "index"));
      std::string sid = get_string(m, "sessionId");
      member_ids.push_back(sid);
      auto sv = demo_request(*api, "GET", "/v1/sessions/" + sid);
      seen.add(sv.body);
      auto s = parse_json(sv.body).value_or(JsonValue{});
      // a member counts as leaked if its sandbox is not torn down shortly after it ended
      for (int wait = 0; !get_bool(s, "tornDown") && wait < 100; ++wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        sv = demo_request(*api, "GET", "/v1/sessions/" + sid);
        s = parse_json(sv.body).value_or(JsonValue{});
      }
      leaked |= !get_bool(s, "tornDown");
      auto audit = demo_request(*api, "GET", "/v1/sessions/" + sid + "/audit");
      seen.add(audit.body);
      auto a = parse_json(audit.body).value_or(JsonValue{});
      if (const JsonValue* evs = member(a, "events"); evs && evs->has_list_value()) {
        for (const auto& e : evs->list_value().values()) {
          std::string type = get_string(e, "type");
          const JsonValue* data = member(e, "data");
          if (type == "session_admitted") {
            marks.push_back({get_string(e, "at"), +1});
            if (data) ceiling = std::max(ceiling, static_cast<int>(get_number(*data, "maxConcurrency")));
          } else if (type == "session_torn_down") {
            marks.push_back({get_string(e, "at"), -1});
          } else if (type == "egress_denied" && idx == shards && data) {
            denied_hosts.push_back(get_string(*data, "host"));
          }
        }
      }
      if (idx < shards) {
        auto res = demo_request(*api, "GET", "/v1/sessions/" + sid + "/result");
        seen.add(res.body);
        auto rj = parse_json(res.body).value_or(JsonValue{});
        if (get_string(s, "phase") == "succeeded") {
          ++succeeded;
          if (const JsonValue* j = member(rj, "json"))
            aggregate += static_cast<long long>(std::llround(get_number(*j, "value")));
        }
      } else {
        hostile_id = sid;
        hostile_phase = get_string(s, "phase");
        hostile_reason = get_string(s, "killReason");
      }
    }
  }
  // Admission marks from the audit trail: releases before grants at the same instant.
  std::sort(marks.begin(), marks.end(), [](const Mark& a, const Mark& b) {
    return a.at != b.at ? a.at < b.at : a.delta < b.delta;
  });
  int active = 0, peak = 0;
  for (const auto& m : marks) peak = std::max(peak, active += m.delta);
  int total_members = static_cast<int>(shards) + (hostile ? 1 : 0);
  int waves = ceiling > 0 ? (total_members + ceiling - 1) / ceiling : 0;

  // ---- checks ------------------------------------------------------------------------------
  report.check("aggregate", aggregate == expected && succeeded == shards,
               "sum of clean shard values " + std::to_string(aggregate) + " (expected " +
                   std::to_string(expected) + "), " + std::to_string(succeeded) + "/" +
                   std::to_string(shards) + " shards succeeded");
  bool contained = true;
  if (hostile) {
    bool saw_metadata =
        std::find(denied_hosts.begin(), denied_hosts.end(), "169.254.169.254") != denied_hosts.end();
    contained = terminal_phase(hostile_phase) && hostile_phase != "succeeded" && saw_metadata &&
                aggregate == expected;
    report.check("hostile contained", contained,
                 "hostile member " + hostile_phase +
                     (hostile_reason.empty() ? "" : "/" + hostile_reason) + ", egress_denied for " +
                     (saw_metadata ? "169.254.169.254" : "nothing audited"));
  }
  std::string want_phase = hostile ? "partial" : "completed";
  report.check("fleet phase", phase == want_phase,
               "fleet is " + phase + " (expected " + want_phase + ") after " +
                   std::to_string(static_cast<int>(elapsed)) + " s");
  report.check("no credential in any answer", !seen.has_jwt(),
               std::to_string(seen.text.size()) + " bytes of fleet, member, result and audit "
               "answers scanned for \"eyJ\"");
  report.check("admission ceiling held", ceiling > 0 && peak <= ceiling,
               "at most " + std::to_string(peak) + " members starting/running at once (ceiling " +
                   std::to_string(ceiling) + ", from the audit timestamps)");
  report.check("no sandbox left behind", !leaked, leaked ? "a member was not torn down"
                                                         : "every member torn down");
  if (o.flag("multi-org")) {
    const char* env_b = std::getenv("ENCLAVE_API_KEY_B");
    std::string kb = o.get("key-b", env_b ? env_b : "");
    bool ok = !kb.empty() && kb != api->api_key;
    std::string detail;
    if (!ok) {
      detail = "needs a second org's key (--key-b or ENCLAVE_API_KEY_B)";
    } else {
      auto f = demo_request(*api, "GET", "/v1/fleets/" + fid, "", kb);
      auto s = demo_request(*api, "GET", "/v1/sessions/" + member_ids.front(), "", kb);
      auto lf = demo_request(*api, "GET", "/v1/fleets", "", kb);
      auto ls = demo_request(*api, "GET", "/v1/sessions?limit=1000", "", kb);
      ok = f.status == 404 && s.status == 404 && lf.status == 200 && ls.status == 200 &&
           lf.body.find(fid) == std::string::npos &&
           ls.body.find(member_ids.front()) == std::string::npos;
      detail = "other org: fleet " + std::to_string(f.status) + ", member " +
               std::to_string(s.status) + ", lists " + (ok ? "clean" : "leak");
    }
    report.check("tenancy", ok, detail);
  }

  std::string hosts = "[";
  for (const auto& h : denied_hosts) hosts += (hosts.size() > 1 ? "," : "") + json_quote(h);
  hosts += "]";
  std::ostringstream outcome;
  outcome << "{\"fleetId\":" << json_quote(fid) << ",\"fleetPhase\":" << json_quote(phase)
          << ",\"aggregate\":" << aggregate << ",\"expectedAggregate\":" << expected
          << ",\"shardsSucceeded\":" << succeeded << ",\"shards\":" << shards
          << ",\"hostile\":" << (hostile ? "true" : "false")
          << ",\"hostileContained\":" << (hostile && contained ? "true" : "false")
          << ",\"hostileDeniedHosts\":" << hosts << ",\"hostilePhase\":" << json_quote(hostile_phase)
          << ",\"hostileKillReason\":" << json_quote(hostile_reason)
          << ",\"waves\":" << waves << ",\"peakActive\":" << peak << ",\"ceiling\":" << ceiling
          << ",\"leaked\":" << (leaked ? "true" : "false") << ",\"elapsedSeconds\":" << elapsed
          << "}";
  auto health = demo_request(*api, "GET", "/v1/healthz");
  std::string backend = get_string(parse_json(health.body).value_or(JsonValue{}), "backend");
  std::string base_url = "http://" + api->url.host + ":" + std::to_string(api->url.port);
  std::ostringstream md;
  md << "Fleet `" << fid << "` on **" << backend << "** (" << base_url << "): phase **" << phase
     << "**, aggregate **" << aggregate << "** (expected " << expected << "), hostile "
     << (hostile ? hostile_phase + "/" + hostile_reason : std::string("none")) << ", peak "
     << peak << "/" << ceiling << " active, " << elapsed << " s.\n";
  report.write(evidence, "\"backend\":" + json_quote(backend) + ",\"baseUrl\":" + json_quote(base_url),
               outcome.str(), md.str());
  std::cout << "fleets-at-scale: " << report.passed() << "/" << report.total()
            << " checks passed" << std::endl;
  return report.passed() == report.total() ? 0 : 1;
}

}  // namespace enclave::cli
