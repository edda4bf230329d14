// Snapshots of folded states (pure). A snapshot is one more input to the same fold: loading one
// and applying the events after it gives exactly the state a full fold gives.
//
// One shape per fact: a state and its snapshot are tied by ONE list below (`session_fields`,
// `fleet_fields`): each state member beside the name of the snapshot field that carries it. of()
// and *_from() both walk that list (through protobuf reflection), so a new member is one line
// there plus its field in events.proto; snapshot_shape_test fails when a snapshot field is not
// listed, or a listed member does not survive the round trip.
#pragma once

#include "events/events.pb.h"
#include "events/fleet.h"
#include "events/session.h"

namespace enclave::snapshot {

events::SessionSnapshot of(const session::State& s);
session::State session_from(const events::SessionSnapshot& p);
events::FleetSnapshot of(const fleet::State& f);
fleet::State fleet_from(const events::FleetSnapshot& p);

// Every session::State member but `exists` (derived: a non-empty id), with the SessionSnapshot
// field of that name. `S` is `State` or `const State`; `field(name, member)` is called once per
// member. An optional member is carried by two fields: `has_<name>` and `<name>`.
template <class S, class F>
void session_fields(S& s, F&& field) {
  field("id", s.id);
  field("org_id", s.org_id);
  field("created_by", s.created_by);
  field("spec", s.spec);
  field("phase", s.phase);
  field("last_seq", s.last_seq);
  field("created_at_ms", s.created_at_ms);
  field("admitted_at_ms", s.admitted_at_ms);
  field("started_at_ms", s.started_at_ms);
  field("ended_at_ms", s.ended_at_ms);
  field("last_activity_ms", s.last_activity_ms);
  field("queue_recorded", s.queue_recorded);
  field("ticket", s.ticket);
  field("admitted", s.admitted);
  field("grant", s.grant);
  field("kill_reason", s.kill_reason);
  field("kill_detail", s.kill_detail);
  field("exited", s.exited);
  field("exit_code", s.exit_code);
  field("stdout_text", s.stdout_text);
  field("stderr_text", s.stderr_text);
  field("json", s.json);
  field("stdout_truncated", s.stdout_truncated);
  field("stderr_truncated", s.stderr_truncated);
  field("exit_detail", s.exit_detail);
  field("turns", s.turns);
  field("turn_ms_total", s.turn_ms_total);
  field("cpu_ms", s.cpu_ms);
  field("egress_denied", s.egress_denied);
  field("egress_allowed", s.egress_allowed);
  field("usage_recorded", s.usage_recorded);
  field("usage", s.usage);
  field("torn_down", s.torn_down);
  field("container_id", s.container_id);
  field("teardown_incomplete", s.teardown_incomplete);
  field("teardown_attempts", s.teardown_attempts);
  field("paused_at_ms", s.paused_at_ms);
  field("paused_ms_total", s.paused_ms_total);
  field("snapshot_id", s.snapshot_id);
  field("snapshot_sha256", s.snapshot_sha256);
  field("snapshot_bytes", s.snapshot_bytes);
  field("snapshot_taken_at_ms", s.snapshot_taken_at_ms);
  field("restore_on_admit", s.restore_on_admit);
  field("cpu_offset_ms", s.cpu_offset_ms);
  field("forked_from", s.forked_from);
  field("pause_reason", s.pause_reason);
}

// Every fleet::State member but `exists` (a non-empty id) and `counts` (a count of
// member_phases), with the FleetSnapshot field of that name.
template <class S, class F>
void fleet_fields(S& f, F&& field) {
  field("id", f.id);
  field("org_id", f.org_id);
  field("created_by", f.created_by);
  field("name", f.name);
  field("created_at_ms", f.created_at_ms);
  field("last_seq", f.last_seq);
  field("member_ids", f.member_ids);
  field("member_phases", f.member_phases);
  field("torn_down", f.torn_down);
}

}  // namespace enclave::snapshot
