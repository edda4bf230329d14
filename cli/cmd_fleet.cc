// enclave fleet submit | watch | get | cancel: many sessions at once, the live member grid, and
// ending a fleet early.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/fleet_grid.h"
#include "cli/json_strict.h"
#include "cli/output_format.h"
#include "cli/sse_client.h"

namespace enclave::cli {

namespace {

constexpr const char* kUsage =
    "enclave fleet submit FILE.jsonl [--name NAME] [--json]\n"
    "       enclave fleet watch FLEET [--interval-ms N]\n"
    "       enclave fleet get FLEET [--json]\n"
    "       enclave fleet cancel FLEET [--json]   (tears down every member still running)\n"
    "  grid tiles: . queued  s starting  R running  o succeeded  K killed  F failed";

void write_all(FILE* f, const std::string& s) {
  if (!s.empty()) std::fwrite(s.data(), 1, s.size(), f);
  std::fflush(f);
}

std::string base_name(const std::string& path) {
  std::string b =
      path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  if (auto dot = b.rfind('.'); dot != std::string::npos && dot > 0) b.resize(dot);
  return b;
}

int submit(const std::vector<std::string>& words) {
  Options o = parse_options(words, {"name"}, {"json"});
  if (!o.error.empty()) return usage(kUsage, o.error);
  if (o.positional.size() != 1) return usage(kUsage, "fleet submit: expected one FILE.jsonl");
  std::string text, err;
  if (!read_input(o.positional[0], &text, &err)) return fail(err);
  std::string members;
  size_t count = 0;
  std::istringstream in(text);
  std::string line;
  for (size_t lineno = 1; std::getline(in, line); ++lineno) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (auto bad = json_syntax_error(line)) {
      return fail(o.positional[0] + ":" + std::to_string(lineno) + ": " + *bad +
                  " (one CreateSessionRequest, strict JSON, a line)");
    }
    auto j = parse_json(line);
    if (!j || j->kind_case() != JsonValue::kStructValue) {
      return fail(o.positional[0] + ":" + std::to_string(lineno) +
                  ": not a JSON object (one CreateSessionRequest a line)");
    }
    members += (count++ ? "," : "") + line;
  }
  if (count == 0) return fail(o.positional[0] + ": no members (one CreateSessionRequest a line)");
  std::string name = o.get("name", o.positional[0] == "-" ? "" : base_name(o.positional[0]));
  std::string body = "{\"name\":" + json_quote(name) + ",\"members\":[" + members + "]}";
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "POST", "/v1/fleets", body);
  if (!a) return 1;
  if (o.flag("json"))
    write_all(stdout, a->body + "\n");
  else
    std::cout << get_string(a->json, "id") << std::endl;
  return 0;
}

// Session id → name for a fleet's members that have one (GET /v1/sessions?fleetId=, page by
// page; bounded so a 100k-member fleet costs at most kMaxPages calls).
std::map<std::string, std::string> member_names(const ApiClient& api, const std::string& fleet) {
  constexpr int kMaxPages = 20;
  std::map<std::string, std::string> names;
  std::string cursor;
  for (int page = 0; page < kMaxPages; ++page) {
    auto a = call(api, "GET",
                  "/v1/sessions?limit=1000&fleetId=" + url_encode(fleet) +
                      (cursor.empty() ? "" : "&cursor=" + url_encode(cursor)));
    if (!a) break;
    if (const JsonValue* list = member(a->json, "sessions");
        list && list->kind_case() == JsonValue::kListValue) {
      for (const auto& s : list->list_value().values()) {
        std::string name = get_string(s, "name");
        if (!name.empty()) names[get_string(s, "id")] = name;
      }
    }
    cursor = get_string(a->json, "nextCursor");
    if (cursor.empty()) break;
  }
  return names;
}

// The grid, then one line per named member: index, session, phase (with the kill reason), name.
std::string describe_fleet(const ApiClient& api, const JsonValue& fleet) {
  std::string out = render_fleet_frame(fleet);
  auto names = member_names(api, get_string(fleet, "id"));
  if (names.empty()) return out;
  Table t({"INDEX", "SESSION", "PHASE", "NAME"});
  if (const JsonValue* members = member(fleet, "members");
      members && members->kind_case() == JsonValue::kListValue) {
    for (const auto& m : members->list_value().values()) {
      auto it = names.find(get_string(m, "sessionId"));
      if (it == names.end()) continue;
      t.add({display_member(m, "index"), it->first, get_string(m, "phase"), it->second});
    }
  }
  return out + "\n" + t.render();
}

int get(const std::vector<std::string>& words) {
  Options o = parse_options(words, {}, {"json"});
  if (!o.error.empty()) return usage(kUsage, o.error);
  if (o.positional.size() != 1) return usage(kUsage, "fleet get: expected one FLEET id");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "GET", "/v1/fleets/" + o.positional[0]);
  if (!a) return 1;
  write_all(stdout, o.flag("json") ? a->body + "\n" : describe_fleet(*api, a->json));
  return 0;
}

// DELETE /v1/fleets/ID: every member still queued or running is torn down; prints the fleet.
int cancel(const std::vector<std::string>& words) {
  Options o = parse_options(words, {}, {"json"});
  if (!o.error.empty()) return usage(kUsage, o.error);
  if (o.positional.size() != 1) return usage(kUsage, "fleet cancel: expected one FLEET id");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "DELETE", "/v1/fleets/" + o.positional[0]);
  if (!a) return 1;
  write_all(stdout, o.flag("json") ? a->body + "\n" : render_fleet_frame(a->json));
  return 0;
}

// Redraws the grid until the fleet is terminal, from the fleet's event stream (the whole fleet,
// then member deltas); if the server has no such stream or it drops early, by polling. Exit 0
// when it completed (every member succeeded), 1 when it ended partial or failed.
int watch(const std::vector<std::string>& words) {
  Options o = parse_options(words, {"interval-ms"}, {});
  if (!o.error.empty()) return usage(kUsage, o.error);
  if (o.positional.size() != 1) return usage(kUsage, "fleet watch: expected one FLEET id");
  long long interval = 250;
  if (o.has("interval-ms") && !parse_uint(o.get("interval-ms"), &interval))
    return usage(kUsage, "--interval-ms must be a number");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  const std::string& id = o.positional[0];
  bool tty = isatty(STDOUT_FILENO) == 1;
  std::string last;
  bool first = true;
  auto draw = [&](const JsonValue& fleet) {
    std::string frame = render_fleet_frame(fleet);
    if (frame == last) return;
    if (tty) {
      // Home the cursor and overwrite in place, clearing leftovers of longer lines/frames.
      std::string out = first ? "\x1b[2J\x1b[H" : "\x1b[H";
      std::istringstream lines(frame);
      std::string l;
      while (std::getline(lines, l)) out += l + "\x1b[K\n";
      out += "\x1b[J";
      write_all(stdout, out);
    } else {
      write_all(stdout, (first ? "" : "\n") + frame);
    }
    last = frame;
    first = false;
  };
  auto a = call(*api, "GET", "/v1/fleets/" + id);  // a missing fleet is an error here, once
  if (!a) return 1;
  JsonValue fleet = a->json;
  draw(fleet);
  std::string phase = get_string(fleet, "phase");
  if (!fleet_phase_terminal(phase)) {
    follow_events(*api, "/v1/fleets/" + id + "/events", [&](const SseEvent& e) {
      auto j = parse_json(e.data);
      if (!j) return true;
      if (e.event == "fleet")
        fleet = *j;
      else if (e.event == "members")
        merge_fleet_delta(&fleet, *j);
      else
        return e.event != "end";
      draw(fleet);
      phase = get_string(fleet, "phase");
      return !fleet_phase_terminal(phase);
    });
  }
  while (!fleet_phase_terminal(phase)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(interval));
    auto p = call(*api, "GET", "/v1/fleets/" + id);
    if (!p) return 1;
    fleet = p->json;
    draw(fleet);
    phase = get_string(fleet, "phase");
  }
  if (phase != "completed") {
    // The tiles say how many failed; the names say which (the first kMaxListed).
    constexpr size_t kMaxListed = 20;
    auto names = member_names(*api, id);
    Table t({"INDEX", "SESSION", "PHASE", "NAME"});
    size_t listed = 0, not_ok = 0;
    if (const JsonValue* members = member(fleet, "members");
        members && members->kind_case() == JsonValue::kListValue) {
      for (const auto& m : members->list_value().values()) {
        if (get_string(m, "phase") == "succeeded") continue;
        if (++not_ok > kMaxListed) continue;
        ++listed;
        auto it = names.find(get_string(m, "sessionId"));
        t.add({display_member(m, "index"), get_string(m, "sessionId"), get_string(m, "phase"),
               it == names.end() ? "-" : it->second});
      }
    }
    if (listed > 0) {
      write_all(stdout, "\nmembers that did not succeed" +
                            (not_ok > listed ? " (first " + std::to_string(listed) + " of " +
                                                   std::to_string(not_ok) + ")"
                                             : std::string()) +
                            ":\n" + t.render());
    }
  }
  return phase == "completed" ? 0 : 1;
}

}  // namespace

int cmd_fleet(const Args& args) {
  if (args.words.empty()) return usage(kUsage, "fleet: expected submit, watch, get or cancel");
  std::vector<std::string> rest(args.words.begin() + 1, args.words.end());
  const std::string& verb = args.words[0];
  if (verb == "submit") return submit(rest);
  if (verb == "watch") return watch(rest);
  if (verb == "get") return get(rest);
  if (verb == "cancel") return cancel(rest);
  std::string why = "fleet: unknown verb '" + verb + "'";
  if (auto guess = closest(verb, {"submit", "watch", "get", "cancel"}); !guess.empty())
    why += " (did you mean '" + guess + "'?)";
  return usage(kUsage, why);
}

}  // namespace enclave::cli
