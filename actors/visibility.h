// Tenancy at the facade: what a principal may see. Another org's id is kNotFound exactly like an
// id that does not exist; a missing scope on one's own resource is kPermissionDenied.
#pragma once

#include <string>

#include "actors/engine_types.h"
#include "actors/read_model.h"
#include "events/fleet.h"
#include "events/session.h"

namespace enclave {

// kNotFound "not_found", "no such <what>".
Error not_found(const char* what = "session");
// kPermissionDenied "permission_denied", naming the missing scope.
Error forbidden(const std::string& scope);

// The session (fleet) with text id `hex` if it exists in the principal's org, else not_found.
[[nodiscard]] Result<session::State> visible_session(const ReadModel& m, const Principal& p,
                                                     const std::string& hex);
[[nodiscard]] Result<fleet::State> visible_fleet(const ReadModel& m, const Principal& p,
                                                 const std::string& hex, bool members = true);

}  // namespace enclave
