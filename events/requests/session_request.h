// Validation of everything a client asks for (pure), in one place for every entry point (the
// engine, http/, the E2B adapter): a CreateSessionRequest becomes the SessionSpec that is stored,
// with every default filled in; a fleet, a turn and a session list are checked the same way.
// Errors are kInvalidArgument "invalid_argument" naming the field at fault.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "events/api.pb.h"
#include "events/error.h"
#include "events/events.pb.h"
#include "events/policy/egress_policy.h"
#include "events/requests/image_catalog.h"

namespace enclave {

// A session's limits.diskMb when it names none: its /home/user (and its /tmp) may hold this many
// MiB (issue 20). Backends make their pool kernels with it, so a default session can take one.
inline constexpr int32_t kDefaultDiskMb = 512;

// Ceilings a request may not exceed (server policy).
struct RequestBounds {
  int32_t max_memory_mb = 8192;
  int32_t max_cpu_millis = 8000;
  int32_t max_pids = 4096;
  int32_t max_wall_clock_seconds = 3600;
  int32_t max_disk_mb = 4096;  // --max-disk-mb
  size_t max_code_bytes = 512 * 1024;
  size_t max_env_entries = 64;
  size_t max_allow_entries = 64;
  // Which destinations an allow-list may name: an IP literal in a refused range is
  // `400 egress_destination_forbidden`. Default: every internal range refused, nothing permitted.
  egress::Policy egress;
  // The images a session may name (issue 21); null: only `default`, running every language.
  std::shared_ptr<const images::Catalog> images;
};

// `field_prefix` is prepended to field names in errors (e.g. "members[3].").
[[nodiscard]] Result<events::SessionSpec> validate_session_request(
    const api::CreateSessionRequest& req, const RequestBounds& bounds = {},
    const std::string& field_prefix = "");

// A "host:port" allow-list entry: host is a DNS name, an IPv4 literal or a bracketed IPv6
// literal ("[2001:db8::1]:443"), port 1..65535.
bool valid_host_port(const std::string& entry);

// A fleet: 1..100000 members, a name of at most 200 characters, every member a valid batch
// session (fields "members[i].…"). The members' specs in order.
[[nodiscard]] Result<std::vector<events::SessionSpec>> validate_fleet_request(
    const api::CreateFleetRequest& req, const RequestBounds& bounds = {});

// A turn: code present and at most max_code_bytes, timeoutMs (if set) 1..3600000. `code_field`
// and `code_noun` name the code in errors (the E2B adapter's commands: "process.args", "the
// command").
[[nodiscard]] Result<bool> validate_exec_request(const api::ExecRequest& req,
                                                 const RequestBounds& bounds = {},
                                                 const std::string& code_field = "code",
                                                 const std::string& code_noun = "code");

// What a session list asks for, as sent (GET /v1/sessions query parameters, or a caller's own).
struct ListQuery {
  std::string fleet_id;  // hex id, or empty
  std::string phase;     // "running", … or empty
  uint32_t limit = 100;  // 1..1000
  std::string cursor;    // opaque, from a previous nextCursor
};

// A list query checked: fleetId a 32-character lowercase hex id, phase one of the session
// phases, limit 1..1000, cursor a previous nextCursor.
struct ListFilter {
  std::string fleet_id;  // 16 bytes, or empty
  std::string phase;     // or empty
  uint32_t limit = 100;
  uint64_t after = 0;  // the cursor's position; 0 from the start
};
[[nodiscard]] Result<ListFilter> validate_list_query(const ListQuery& q);

// The text of a `limit` parameter: an integer from 1 to 1000.
[[nodiscard]] Result<uint32_t> parse_list_limit(std::string_view text);

// Longest `?wait=S` (issue 24), in seconds.
inline constexpr uint32_t kMaxWaitSeconds = 300;
// The text of a `wait` parameter (POST /v1/sessions, GET …/result): whole seconds from 0 to
// kMaxWaitSeconds; anything else (negative, fractional, too large, empty) names `wait`.
[[nodiscard]] Result<uint32_t> parse_wait_seconds(std::string_view text);

}  // namespace enclave
