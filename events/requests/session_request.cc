#include "events/requests/session_request.h"

#include <algorithm>
#include <cctype>

#include "events/ids.h"
#include "events/requests/session_files_request.h"
#include "events/secrets.h"

namespace enclave {

namespace {

Error bad(const std::string& field, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, "invalid_argument", message, field);
}

bool valid_host(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  size_t label = 0;
  for (char c : h) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label > 0;
}

}  // namespace

bool valid_host_port(const std::string& entry) {
  auto colon = entry.rfind(':');
  if (colon == std::string::npos || colon + 1 >= entry.size() || entry.size() - colon > 6)
    return false;
  int port = 0;
  for (size_t i = colon + 1; i < entry.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(entry[i]))) return false;
    port = port * 10 + (entry[i] - '0');
  }
  if (port < 1 || port > 65535) return false;
  const std::string host = entry.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    return host.find(':') != std::string::npos && egress::parse_ip(host).has_value();
  return valid_host(host);
}

Result<events::SessionSpec> validate_session_request(const api::CreateSessionRequest& req,
                                                     const RequestBounds& b,
                                                     const std::string& pre) {
  events::SessionSpec spec;
  if (req.exec_mode().empty() || req.exec_mode() == "batch") {
    spec.set_exec_mode(events::EXEC_MODE_BATCH);
  } else if (req.exec_mode() == "interactive") {
    spec.set_exec_mode(events::EXEC_MODE_INTERACTIVE);
  } else {
    return bad(pre + "execMode", "execMode must be \"batch\" or \"interactive\", not \"" +
                                     req.exec_mode().substr(0, 40) + "\"");
  }
  if (req.on_idle() == "kill" || req.on_idle() == "pause") {
    if (spec.exec_mode() != events::EXEC_MODE_INTERACTIVE)
      return bad(pre + "onIdle", "onIdle applies to interactive sessions only");
    spec.set_on_idle(req.on_idle());
  } else if (!req.on_idle().empty()) {
    return bad(pre + "onIdle",
               "onIdle must be \"kill\" or \"pause\", not \"" + req.on_idle().substr(0, 40) + "\"");
  }
  if (!req.from_session().empty()) {
    // A fleet member that starts as a fork of a session's one checkpoint and runs its code as a
    // turn there (docs/PAUSE.md); a lone session forks with POST /v1/sessions/{id}/fork.
    if (pre.rfind("members[", 0) != 0)
      return bad(pre + "fromSession",
                 "fromSession applies to fleet members; fork a session with POST "
                 "/v1/sessions/{id}/fork");
    auto from = from_hex_id(req.from_session());
    if (!from) return bad(pre + "fromSession", "fromSession must be a session id (32 hex digits)");
    spec.set_from_session(*from);
  }
  if (req.language().empty() || req.language() == "python" || req.language() == "javascript" ||
      req.language() == "bash") {
    spec.set_language(req.language().empty() ? "python" : req.language());
  } else {
    return bad(pre + "language", "language \"" + req.language().substr(0, 40) +
                                     "\" is not supported (python, javascript, bash)");
  }
  if (spec.exec_mode() == events::EXEC_MODE_BATCH && req.code().empty())
    return bad(pre + "code", "code is required for a batch session");
  if (req.code().size() > b.max_code_bytes)
    return bad(pre + "code", "code is larger than " + std::to_string(b.max_code_bytes) + " bytes");
  spec.set_code(req.code());

  auto* eg = spec.mutable_egress();
  const auto& re = req.egress();
  if (re.mode().empty() || re.mode() == "deny_all") {
    eg->set_mode("deny_all");
    if (re.allow_size() > 0)
      return bad(pre + "egress.allow", "egress.allow needs egress.mode \"allow_list\"");
  } else if (re.mode() == "allow_list") {
    eg->set_mode("allow_list");
    if (static_cast<size_t>(re.allow_size()) > b.max_allow_entries)
      return bad(pre + "egress.allow", "too many egress.allow entries");
    for (int i = 0; i < re.allow_size(); ++i) {
      if (!valid_host_port(re.allow(i)))
        return bad(
            pre + "egress.allow[" + std::to_string(i) + "]",
            "egress.allow entries are \"host:port\", not \"" + re.allow(i).substr(0, 60) + "\"");
      const std::string field = pre + "egress.allow[" + std::to_string(i) + "]";
      const auto& entry = re.allow(i);
      if (auto e = egress::check_allow_host(b.egress, entry.substr(0, entry.rfind(':')), field))
        return *e;
      eg->add_allow(entry);
    }
  } else {
    return bad(pre + "egress.mode", "egress.mode must be \"deny_all\" or \"allow_list\"");
  }
  eg->set_kill_on_denied(re.kill_on_denied());

  auto* l = spec.mutable_limits();
  const auto& rl = req.limits();
  struct Field {
    const char* name;
    bool has;
    int32_t value, def, max;
    void (events::Limits::*set)(int32_t);
  };
  const Field fields[] = {
      {"memoryMb", rl.has_memory_mb(), rl.memory_mb(), 256, b.max_memory_mb,
       &events::Limits::set_memory_mb},
      {"cpuMillis", rl.has_cpu_millis(), rl.cpu_millis(), 1000, b.max_cpu_millis,
       &events::Limits::set_cpu_millis},
      {"pids", rl.has_pids(), rl.pids(), 64, b.max_pids, &events::Limits::set_pids},
      {"wallClockSeconds", rl.has_wall_clock_seconds(), rl.wall_clock_seconds(), 30,
       b.max_wall_clock_seconds, &events::Limits::set_wall_clock_seconds},
      {"diskMb", rl.has_disk_mb(), rl.disk_mb(), kDefaultDiskMb, b.max_disk_mb,
       &events::Limits::set_disk_mb},
  };
  for (const auto& f : fields) {
    int32_t v = f.has ? f.value : f.def;
    if (v <= 0 || v > f.max)
      return bad(pre + "limits." + f.name, std::string("limits.") + f.name + " must be 1.." +
                                               std::to_string(f.max) + ", not " +
                                               std::to_string(v));
    (l->*f.set)(v);
  }
  if (static_cast<size_t>(req.env_size()) > b.max_env_entries)
    return bad(pre + "env", "too many env entries");
  for (const auto& [k, v] : req.env()) {
    bool ok = !k.empty() && k.size() <= 128 && !std::isdigit(static_cast<unsigned char>(k[0]));
    for (char c : k) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok)
      return bad(pre + "env",
                 "env names are [A-Za-z_][A-Za-z0-9_]*, not \"" + k.substr(0, 40) + "\"");
    // The runners read ENCLAVE_* from their own environment (e.g. the channel they report on):
    // a tenant's env must not steer them.
    if (k.rfind("ENCLAVE_", 0) == 0)
      return bad(pre + "env",
                 "env names starting with ENCLAVE_ are reserved, not \"" + k.substr(0, 40) + "\"");
    (*spec.mutable_env())[k] = v;
  }
  if (req.stdin().size() > b.max_code_bytes) return bad(pre + "stdin", "stdin is too large");
  spec.set_stdin(req.stdin());
  if (req.name().size() > 200) return bad(pre + "name", "name is longer than 200 characters");
  spec.set_name(req.name());
  if (auto e = secrets::copy_names(req, &spec, pre)) return *e;
  if (spec.secrets_size() > 0 && eg->mode() != "allow_list")
    return bad(pre + "secrets", "secrets need egress.mode \"allow_list\" naming their hosts");
  if (auto e = validate_session_files(req, &spec, pre)) return *e;
  // The image last: it is checked against the language chosen above.
  static const auto kDefaultOnly =
      std::make_shared<const images::Catalog>(images::default_only_catalog());
  if (auto e = images::resolve_session_image(req, b.images ? *b.images : *kDefaultOnly, &spec, pre))
    return *e;
  return spec;
}

Result<std::vector<events::SessionSpec>> validate_fleet_request(const api::CreateFleetRequest& req,
                                                                const RequestBounds& bounds) {
  if (req.members().empty()) return bad("members", "a fleet needs at least one member");
  constexpr int kMaxMembers = 100'000;
  if (req.members_size() > kMaxMembers) return bad("members", "a fleet has at most 100000 members");
  if (req.name().size() > 200) return bad("name", "name is longer than 200 characters");
  std::vector<events::SessionSpec> members;
  members.reserve(req.members_size());
  for (int i = 0; i < req.members_size(); ++i) {
    std::string pre = "members[" + std::to_string(i) + "].";
    auto spec = validate_session_request(req.members(i), bounds, pre);
    if (!spec) return spec.error();
    // A member runs unattended: an interactive one would wait for turns nobody sends and hold
    // the fleet open until its idle TTL.
    if (spec->exec_mode() == events::EXEC_MODE_INTERACTIVE && spec->from_session().empty())
      return bad(pre + "execMode",
                 "fleet members are batch sessions; interactive is not allowed here");
    members.push_back(std::move(*spec));
  }
  return members;
}

Result<bool> validate_exec_request(const api::ExecRequest& req, const RequestBounds& bounds,
                                   const std::string& code_field, const std::string& code_noun) {
  if (req.code().empty()) return bad(code_field, code_noun + " is required");
  if (req.code().size() > bounds.max_code_bytes)
    return bad(code_field, code_noun + " is too large");
  if (req.has_timeout_ms() && (req.timeout_ms() <= 0 || req.timeout_ms() > 3'600'000))
    return bad("timeoutMs", "timeoutMs must be 1..3600000");
  return true;
}

Result<ListFilter> validate_list_query(const ListQuery& q) {
  ListFilter f;
  if (!q.fleet_id.empty()) {
    auto id = from_hex_id(q.fleet_id);
    if (!id) return bad("fleetId", "fleetId must be a 32-character lowercase hex id");
    f.fleet_id = *id;
  }
  static const char* phases[] = {"queued", "starting", "running", "succeeded", "failed", "killed"};
  if (!q.phase.empty() && std::none_of(std::begin(phases), std::end(phases),
                                       [&](const char* ph) { return q.phase == ph; }))
    return bad("phase",
               "phase must be one of queued, starting, running, succeeded, failed, killed");
  f.phase = q.phase;
  if (q.limit < 1 || q.limit > 1000) return bad("limit", "limit must be an integer from 1 to 1000");
  f.limit = q.limit;
  if (!q.cursor.empty()) {
    bool digits = q.cursor.size() <= 19 && std::all_of(q.cursor.begin(), q.cursor.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) return bad("cursor", "cursor is not valid");
    f.after = std::stoull(q.cursor);
  }
  return f;
}

Result<uint32_t> parse_wait_seconds(std::string_view text) {
  uint64_t n = 0;
  bool ok = !text.empty() && text.size() <= 3;
  for (char c : text) {
    if (c < '0' || c > '9')
      ok = false;
    else
      n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok || n > kMaxWaitSeconds)
    return bad("wait", "wait must be whole seconds from 0 to " + std::to_string(kMaxWaitSeconds));
  return static_cast<uint32_t>(n);
}

Result<uint32_t> parse_list_limit(std::string_view text) {
  uint64_t n = 0;
  bool ok = !text.empty() && text.size() <= 6;
  for (char c : text) {
    if (c < '0' || c > '9')
      ok = false;
    else
      n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok || n < 1 || n > 1000) return bad("limit", "limit must be an integer from 1 to 1000");
  return static_cast<uint32_t>(n);
}

}  // namespace enclave
