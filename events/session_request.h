// Validation of what a client asks for (pure): a CreateSessionRequest becomes the SessionSpec
// that is stored, with every default filled in, or an error naming the field at fault.
#pragma once

#include "events/api.pb.h"
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
};

// `field_prefix` is prepended to field names in errors (e.g. "members[3].").
[[nodiscard]] Result<events::SessionSpec> validate_session_request(
    const api::CreateSessionRequest& req, const RequestBounds& bounds = {},
    const std::string& field_prefix = "");

// A "host:port" allow-list entry: host is a DNS name or IPv4 literal, port 1..65535.
bool valid_host_port(const std::string& entry);

}  // namespace enclave
