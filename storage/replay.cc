#include "storage/replay.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <ctime>
#include <sstream>

#include "events/codec/printable.h"
#include "events/ids.h"
#include "events/views/api_views.h"

namespace enclave::storage {

namespace {

bool within(const events::Envelope& e, const ReplayCut& cut, bool check_seq) {
  if (check_seq && e.seq() > cut.until_seq) return false;
  if (cut.until_time && e.at_ms() > *cut.until_time) return false;
  return true;
}

std::string to_json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

// A message as a JSON value (through its JSON text: protobuf's own mapping, camelCase names).
google::protobuf::Value as_value(const google::protobuf::Message& m) {
  google::protobuf::Value v;
  if (!google::protobuf::util::JsonStringToMessage(to_json(m), &v).ok()) v.set_null_value({});
  return v;
}

google::protobuf::Value usage_value(const session::State& s) {
  google::protobuf::Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["wallMs"].set_number_value(static_cast<double>(s.usage.wall_ms()));
  f["cpuMs"].set_number_value(static_cast<double>(s.usage.cpu_ms()));
  f["peakMemoryBytes"].set_number_value(static_cast<double>(s.usage.peak_memory_bytes()));
  f["turnMsTotal"].set_number_value(static_cast<double>(s.turn_ms_total));
  return v;
}

std::string print(const google::protobuf::Value& v) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(v, &out);
  return out;
}

}  // namespace

std::optional<TimeMs> parse_rfc3339(const std::string& t) {
  std::tm tm{};
  int ms = 0;
  const char* rest = strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return std::nullopt;
  if (*rest == '.') {
    int digits = 0;
    ++rest;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 3) ms = ms * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    for (; digits < 3; ++digits) ms *= 10;
  }
  if (*rest != 'Z' || rest[1] != '\0') return std::nullopt;
  return static_cast<TimeMs>(timegm(&tm)) * 1000 + ms;
}

Result<StreamReplay> replay_stream(const EventLog& log, const std::string& stream,
                                   const ReplayCut& cut) {
  auto events = log.read_stream(stream);
  if (!events) return events.error();
  if (events->empty())
    return make_error(ErrorCode::kNotFound, "not_found", "no stream " + to_hex(stream));
  StreamReplay r;
  const auto& first = events->front().envelope;
  r.kind = first.has_session_created()   ? "session"
           : first.has_fleet_created()   ? "fleet"
           : first.has_api_key_created() ? "keys"
                                         : "unknown";
  for (auto& s : *events) {
    if (!within(s.envelope, cut, true)) break;
    if (r.kind == "session") r.session = session::apply(std::move(r.session), s.envelope);
    if (r.kind == "fleet") r.fleet = fleet::apply(std::move(r.fleet), s.envelope);
    r.events.push_back(std::move(s));
  }
  if (r.kind == "fleet") {
    ReplayCut member_cut;
    member_cut.until_time = cut.until_time;
    if (cut.until_seq != UINT64_MAX && !r.events.empty())  // members as of the last folded event
      member_cut.until_time = r.events.back().envelope.at_ms();
    for (size_t i = 0; i < r.fleet.member_ids.size(); ++i) {
      session::State m;
      auto me = log.read_stream(r.fleet.member_ids[i]);
      if (me)
        for (const auto& s : *me)
          if (within(s.envelope, member_cut, false)) m = session::apply(std::move(m), s.envelope);
      r.fleet = fleet::observe(std::move(r.fleet), i, m.phase);
      r.members.push_back(std::move(m));
    }
  }
  return r;
}

Result<uint64_t> replay_all(const EventLog& log, const ReplayCut& cut,
                            const std::function<void(const StreamReplay&)>& fn, bool keep_events) {
  StreamReplay cur;
  std::string stream;
  uint64_t folded = 0;
  bool skip = false;  // the rest of this stream is past the cut
  auto emit = [&] {
    if (!stream.empty() && !cur.kind.empty()) fn(cur);
    cur = StreamReplay{};
  };
  Error failure;
  bool failed = false;
  events::Envelope env;
  auto scanned = log.scan_raw_events([&](std::string_view key, std::string_view value) {
    if (key.size() != 24) return true;
    if (key.substr(0, 16) != stream) {
      emit();
      stream = std::string(key.substr(0, 16));
      skip = false;
    }
    if (skip) return true;
    // One message reused for every event: parsing then reuses its allocations.
    if (!env.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      failure = make_error(ErrorCode::kInternal, "corrupt_event",
                           "event " + to_hex(stream) + " is unreadable");
      failed = true;
      return false;
    }
    if (!within(env, cut, true)) {
      skip = true;
      return true;
    }
    if (cur.kind.empty())
      cur.kind = env.has_session_created()   ? "session"
                 : env.has_fleet_created()   ? "fleet"
                 : env.has_api_key_created() ? "keys"
                                             : "unknown";
    if (cur.kind == "session")
      session::apply_into(cur.session, env);
    else if (cur.kind == "fleet")
      cur.fleet = fleet::apply(std::move(cur.fleet), env);
    if (keep_events) cur.events.push_back(Stored{env, sha256(value), 0});
    ++folded;
    return true;
  });
  emit();
  if (!scanned) return scanned.error();
  if (failed) return failure;
  return folded;
}

std::string replay_json(const StreamReplay& r) {
  // Built as a value and printed by protobuf's JSON printer: every string from the log (names,
  // messages, ids) stays a string, whatever bytes it holds.
  google::protobuf::Value out;
  auto& f = *out.mutable_struct_value()->mutable_fields();
  f["stream"].set_string_value(r.events.empty() ? "" : to_hex(r.events.front().envelope.stream()));
  f["kind"].set_string_value(r.kind);
  f["foldedEvents"].set_number_value(static_cast<double>(r.events.size()));
  google::protobuf::Value state;
  if (r.kind == "session") {
    state = as_value(views::session(r.session));
    auto& sf = *state.mutable_struct_value()->mutable_fields();
    sf["usage"] = usage_value(r.session);
    sf["egressDenied"].set_number_value(static_cast<double>(r.session.egress_denied));
  } else if (r.kind == "fleet") {
    state = as_value(views::fleet(r.fleet));
  } else {
    state.mutable_struct_value();
  }
  f["state"] = std::move(state);
  auto* events = f["events"].mutable_list_value();
  for (const auto& e : r.events)
    *events->add_values() = as_value(views::audit_event(e.envelope, to_hex(e.hash)));
  return print(out);
}

namespace {

// A turn's code, output summary and result, indented; control characters other than newlines
// shown as '?' (the code and output are the workload's bytes).
std::string turn_text(const events::ExecTurn& t) {
  auto clean = [](std::string_view in) {
    std::string out;
    for (char c : in)
      out += (static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f ? '?' : c;
    return out;
  };
  std::ostringstream o;
  if (!t.code().empty()) {
    o << "        code:\n";
    std::string code = clean(t.code());
    size_t pos = 0;
    while (pos <= code.size()) {
      size_t nl = code.find('\n', pos);
      if (nl == std::string::npos) nl = code.size();
      if (nl > pos || nl < code.size()) o << "          | " << code.substr(pos, nl - pos) << "\n";
      pos = nl + 1;
    }
  }
  o << "        result: "
    << (t.timed_out()       ? "timed out"
        : t.has_exit_code() ? "exit " + std::to_string(t.exit_code())
                            : "no exit code")
    << ", stdout " << t.stdout().size() << " bytes, stderr " << t.stderr().size() << " bytes";
  if (!t.json().empty()) o << ", json " << clean(t.json().substr(0, 200));
  o << "\n";
  return o.str();
}

}  // namespace

std::string replay_text(const StreamReplay& r) {
  std::ostringstream o;
  std::string id = r.events.empty() ? "" : to_hex(r.events.front().envelope.stream());
  o << r.kind << " " << id << " — " << r.events.size() << " events folded\n";
  if (r.kind == "session") {
    const auto& s = r.session;
    o << "  phase: " << session::phase_name(s.phase);
    if (s.kill_reason != events::KILL_REASON_NONE)
      o << " (" << session::kill_reason_name(s.kill_reason) << ")";
    o << "\n  org: " << printable(s.org_id) << "  created by: " << printable(s.created_by)
      << "\n  turns: " << s.turns << "  turn ms: " << s.turn_ms_total
      << "  egress denied: " << s.egress_denied;
    if (s.exit_code) o << "  exit code: " << *s.exit_code;
    o << "\n  usage: wall " << s.usage.wall_ms() << " ms, cpu " << s.usage.cpu_ms()
      << " ms, peak memory " << s.usage.peak_memory_bytes() << " bytes\n"
      << "  torn down: " << (s.torn_down ? "yes" : "no") << "\n";
  } else if (r.kind == "fleet") {
    auto c = fleet::counts(r.fleet);
    o << "  name: " << printable(r.fleet.name)
      << "  phase: " << fleet::phase_name(fleet::aggregate(c)) << "\n  members: " << c.total()
      << " (queued " << c.queued << ", starting " << c.starting << ", running " << c.running
      << ", succeeded " << c.succeeded << ", failed " << c.failed << ", killed " << c.killed
      << ")\n";
  }
  o << "  events:\n";
  for (const auto& s : r.events) {
    auto a = views::audit_event(s.envelope, to_hex(s.hash));
    o << "    " << a.seq() << "  " << printable(a.at()) << "  " << printable(a.type()) << "  "
      << printable(a.message()) << "\n";
    if (s.envelope.has_exec_turn()) o << turn_text(s.envelope.exec_turn());
  }
  return o.str();
}

Result<uint64_t> export_jsonl(const EventLog& log, std::string* out) {
  return log.scan_global(1, [&](const Stored& s) {
    auto line = as_value(views::audit_event(s.envelope, to_hex(s.hash)));
    auto& f = *line.mutable_struct_value()->mutable_fields();
    f["stream"].set_string_value(to_hex(s.envelope.stream()));
    f["globalSeq"].set_number_value(static_cast<double>(s.global_seq));
    *out += print(line) + "\n";
    return true;
  });
}

}  // namespace enclave::storage
