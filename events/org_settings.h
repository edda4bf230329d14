// Orgs' admission settings as a fold of OrgSettingsSet events (pure). Written offline by
// `enclaved orgs set` on the well-known orgs stream; read once when the engine opens.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "events/error.h"
#include "events/events.pb.h"

namespace enclave::org_settings {

struct Settings {
  uint32_t weight = 1;      // grants per round-robin turn of admission
  uint32_t max_queued = 0;  // sessions not yet admitted; 0: no limit
  uint32_t max_live = 0;    // slots held at once; 0: only the global ceiling
};

// Bounds for the numbers an operator may set.
inline constexpr uint32_t kMaxWeight = 1000;
inline constexpr uint32_t kMaxQueued = 10'000'000;
inline constexpr uint32_t kMaxLive = 100'000;

struct State {
  std::map<std::string, Settings> by_org;
  uint64_t last_seq = 0;
};

// Folds one event of the orgs stream; other payloads only advance last_seq. Values outside the
// bounds (a log not written by us) are clamped into them, so a hostile data dir cannot stall
// admission.
State apply(State s, const events::Envelope& e);

// The settings of `org` (the defaults if never set).
Settings of(const State& s, const std::string& org);

// The settings after changing the given fields of `current`, or an error naming the field.
[[nodiscard]] Result<Settings> change(Settings current, std::optional<int64_t> weight,
                                      std::optional<int64_t> max_queued,
                                      std::optional<int64_t> max_live);

// An org name as keys accept it: 1..64 characters of [A-Za-z0-9_-].
bool valid_org(const std::string& org);

}  // namespace enclave::org_settings
