// The messages between Enclave's actors. Each actor takes one variant type; everything stays in
// one process, so the types are plain structs (CAF_ALLOW_UNSAFE_MESSAGE_TYPE).
#pragma once

#include <caf/all.hpp>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "actors/admission.h"
#include "actors/engine_types.h"
#include "backends/backend.h"
#include "events/session.h"
#include "storage/event_log.h"

namespace enclave::msg {

// ---- to a session actor -----------------------------------------------------------------------
struct Committed {  // the log acknowledged the oldest in-flight append
  Result<std::vector<storage::Stored>> result;
};
struct FromBackend {
  backends::Event event;
};
struct Queued {
  uint32_t queued, max_concurrency;
  uint64_t ticket;
  uint32_t org_queued = 0;  // sessions of the same org waiting, this one included
};
struct Admitted {
  uint32_t active, max_concurrency;
  uint64_t ticket, grant;
};
struct Exec {
  api::ExecRequest request;
  Callback<api::ExecTurnResult> done;
  OnOutput on_output;  // this turn's live output, before `done` (may be empty)
};
struct Kill {
  events::KillReason reason;
  std::string detail;
  Callback<api::Session> done;  // may be empty
};
struct Reap {};
struct Recover {         // spawned from the log after a restart: re-attach or end
  bool adopted = false;  // the backend still runs its sandbox
};
struct Create {  // spawned for a new session
  session::Create command;
  Callback<api::Session> done;
  std::optional<session::ForkFrom> fork;  // starts from a snapshot of another session
};
// pause/resume/fork (docs/PAUSE.md)
struct Pause {
  std::string reason;  // "api", "server_restart"
  Callback<api::Session> done;
};
struct Resume {
  std::string reason;  // "api"
  Callback<api::Session> done;
};
// What new sessions forked from a snapshot need.
struct ForkSource {
  session::ForkFrom from;
  events::SessionSpec spec;
  std::string org_id;
};
struct Snapshot {  // take a checkpoint for `forks` new sessions
  uint32_t forks = 0;
  Callback<ForkSource> done;
};
struct TeardownTimeout {
  uint64_t waiter;
};
struct RetryLog {};     // after an append failed: record the session's end if the log takes writes
struct RetryTeardown {  // the last removal left something: ask the backend again
  uint32_t attempt;
};
struct RecordFile {  // the files API wrote or read a file (issue 20): audit it
  session::RecordFile command;
  Callback<bool> done;  // after the event is durable
};
struct Launch {  // a fleet member whose admission its fleet's creating commit recorded (durable)
  events::Envelope admitted;
};
using ToSession = std::variant<Committed, FromBackend, Queued, Admitted, Exec, Kill, Reap, Recover,
                               Create, TeardownTimeout, RetryLog, RetryTeardown, RecordFile, Pause,
                               Resume, Snapshot, Launch>;

// ---- to the admission actor -------------------------------------------------------------------
struct Enqueue {
  std::string id;
  caf::actor session;
  uint64_t ticket = 0;  // 0: assign a new one
  std::string org;      // whose FIFO it waits in
};
struct Release {
  std::string id;
};
struct Restore {  // after a restart: sessions already holding a slot
  std::vector<AdmissionQueue::Holder> active;
  uint64_t next_ticket, next_grant;
};
struct GrantNow {  // a new fleet's members, before its creating commit: AdmissionQueue::grant_now
  std::string org;
  std::vector<std::string> ids;  // in member order; granted while slots are free, then none
  caf::actor reply_to;           // hears FleetGrants
};
using ToAdmission = std::variant<Enqueue, Release, Restore, GrantNow>;

// ---- to the reaper ----------------------------------------------------------------------------
struct Watch {
  std::string id;
  caf::actor session;
  TimeMs deadline;
};
struct Unwatch {
  std::string id;
};
struct Tick {
  bool self_scheduled = false;
};
using ToReaper = std::variant<Watch, Unwatch, Tick>;

// ---- to a fleet actor -------------------------------------------------------------------------
struct CreateFleet {
  std::string id, org_id, created_by, name;
  std::vector<events::SessionSpec> members;
  // Per member, its fork lineage when it says fromSession (actors/fleet_forks.h), else nullopt;
  // empty = none.
  std::vector<std::optional<session::ForkFrom>> forks;
  Callback<api::Fleet> done;
};
struct FleetCommitted {
  Result<std::vector<storage::Stored>> result;
};
struct TeardownFleet {
  Callback<api::Fleet> done;
};
struct MemberGone {
  std::string id;
};
struct FleetGrants {  // admission's answer to GrantNow: the first grants.size() members hold slots
  std::vector<AdmissionQueue::Grant> grants;
  uint32_t max_concurrency = 0;
};
using ToFleet = std::variant<CreateFleet, FleetCommitted, TeardownFleet, MemberGone, FleetGrants>;

}  // namespace enclave::msg

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(enclave::msg::ToSession)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(enclave::msg::ToAdmission)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(enclave::msg::ToReaper)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(enclave::msg::ToFleet)
