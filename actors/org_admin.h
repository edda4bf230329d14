// Offline administration of orgs' admission settings (`enclaved orgs set|list`). Settings are
// OrgSettingsSet events on the well-known orgs stream, so a restart rebuilds them from the log.
// `set` and `list` open the data dir directly, so the server must not be running; the engine
// reads the settings once, when it opens.
#pragma once

#include <optional>
#include <string>

#include "events/error.h"
#include "events/org_settings.h"
#include "storage/event_log.h"

namespace enclave::orgs {

// Changes the given settings of `org` (the others keep their value) and records the result.
// Returns the org's settings now.
[[nodiscard]] Result<org_settings::Settings> set(const std::string& data_dir,
                                                 const std::string& org,
                                                 std::optional<int64_t> weight,
                                                 std::optional<int64_t> max_queued,
                                                 std::optional<int64_t> max_live);
// Every org whose settings were ever set.
[[nodiscard]] Result<org_settings::State> list(const std::string& data_dir);

// The fold of the orgs stream of an open log.
[[nodiscard]] Result<org_settings::State> load(storage::EventLog& log);

}  // namespace enclave::orgs
