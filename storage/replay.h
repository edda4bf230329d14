// Offline replay: folds a stream's stored events through the same pure `apply` the server uses,
// up to a seq or a time, and renders what it rebuilt. Never writes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "events/clock.h"
#include "events/fleet.h"
#include "events/session.h"
#include "storage/event_log.h"

namespace enclave::storage {

struct ReplayCut {
  uint64_t until_seq = UINT64_MAX;   // fold events with seq ≤ this (of the named stream)
  std::optional<TimeMs> until_time;  // and/or with at ≤ this (applies to fleet members too)
};

struct StreamReplay {
  std::string kind;  // "session", "fleet", "keys", "unknown"
  session::State session;
  fleet::State fleet;
  std::vector<session::State> members;  // a fleet's members, folded to the same time cut
  std::vector<Stored> events;           // the events folded (of the named stream)
};

[[nodiscard]] Result<StreamReplay> replay_stream(const EventLog& log, const std::string& stream,
                                                 const ReplayCut& cut);

// Every stream, folded in one sequential pass over the events (stream by stream, in id order);
// `fn` gets each stream's fold (fleets without their members' phases). Returns events folded.
[[nodiscard]] Result<uint64_t> replay_all(const EventLog& log, const ReplayCut& cut,
                                          const std::function<void(const StreamReplay&)>& fn,
                                          bool keep_events = false);

// {"stream","kind","state":{…},"events":[AuditEvent…]} (members' phases for a fleet).
std::string replay_json(const StreamReplay& r);
// A human-readable rendering of the same.
std::string replay_text(const StreamReplay& r);

// One line of JSON per stored event, in commit order, for other tools.
[[nodiscard]] Result<uint64_t> export_jsonl(const EventLog& log, std::string* out);

// Parses an RFC 3339 UTC time ("2026-11-23T11:32:23Z", fractional seconds allowed).
std::optional<TimeMs> parse_rfc3339(const std::string& text);

}  // namespace enclave::storage
