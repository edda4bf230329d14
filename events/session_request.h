// Validation of what a client asks for (pure): a CreateSessionRequest becomes the SessionSpec
// that is stored, with every default filled in, or an error naming the field at fault.
#pragma once

#include "events/api.pb.h"
#include "events/egress_policy.h"
#include "events/error.h"
#include "events/events.pb.h"

namespace enclave {

// Ceilings a request may not exceed (server policy).
struct RequestBounds {
  int32_t max_memory_mb = 8192;
  int32_t max_cpu_millis = 8000;
  int32_t max_pids = 4096;
  int32_t max_wall_clock_seconds = 3600;
  int32_t max_disk_mb = 4096;
  size_t max_code_bytes = 512 * 1024;
  size_t max_env_entries = 64;
  size_t max_allow_entries = 64;
  // Which destinations an allow-list may name: an IP literal in a refused range is
  // `400 egress_destination_forbidden`. Default: every internal range refused, nothing permitted.
  egress::Policy egress;
};

// `field_prefix` is prepended to field names in errors (e.g. "members[3].").
[[nodiscard]] Result<events::SessionSpec> validate_session_request(
    const api::CreateSessionRequest& req, const RequestBounds& bounds = {},
    const std::string& field_prefix = "");

// A "host:port" allow-list entry: host is a DNS name, an IPv4 literal or a bracketed IPv6
// literal ("[2001:db8::1]:443"), port 1..65535.
bool valid_host_port(const std::string& entry);

}  // namespace enclave
