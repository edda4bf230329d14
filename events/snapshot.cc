#include "events/snapshot.h"

namespace enclave::snapshot {

events::SessionSnapshot of(const session::State& s) {
  events::SessionSnapshot p;
  p.set_id(s.id);
  p.set_org_id(s.org_id);
  p.set_created_by(s.created_by);
  *p.mutable_spec() = s.spec;
  p.set_phase(static_cast<int32_t>(s.phase));
  p.set_last_seq(s.last_seq);
  p.set_created_at_ms(s.created_at_ms);
  p.set_admitted_at_ms(s.admitted_at_ms);
  p.set_started_at_ms(s.started_at_ms);
  p.set_ended_at_ms(s.ended_at_ms);
  p.set_last_activity_ms(s.last_activity_ms);
  p.set_queue_recorded(s.queue_recorded);
  p.set_ticket(s.ticket);
  p.set_admitted(s.admitted);
  p.set_grant(s.grant);
  p.set_kill_reason(s.kill_reason);
  p.set_kill_detail(s.kill_detail);
  p.set_exited(s.exited);
  p.set_has_exit_code(s.exit_code.has_value());
  p.set_exit_code(s.exit_code.value_or(0));
  p.set_stdout_text(s.stdout_text);
  p.set_stderr_text(s.stderr_text);
  p.set_json(s.json);
  p.set_stdout_truncated(s.stdout_truncated);
  p.set_stderr_truncated(s.stderr_truncated);
  p.set_exit_detail(s.exit_detail);
  p.set_turns(s.turns);
  p.set_turn_ms_total(s.turn_ms_total);
  p.set_egress_denied(s.egress_denied);
  p.set_egress_allowed(s.egress_allowed);
  p.set_usage_recorded(s.usage_recorded);
  *p.mutable_usage() = s.usage;
  p.set_torn_down(s.torn_down);
  p.set_container_id(s.container_id);
  p.set_teardown_incomplete(s.teardown_incomplete);
  p.set_teardown_attempts(s.teardown_attempts);
  p.set_paused_at_ms(s.paused_at_ms);
  p.set_paused_ms_total(s.paused_ms_total);
  p.set_snapshot_id(s.snapshot_id);
  p.set_snapshot_sha256(s.snapshot_sha256);
  p.set_snapshot_bytes(s.snapshot_bytes);
  p.set_snapshot_taken_at_ms(s.snapshot_taken_at_ms);
  p.set_restore_on_admit(s.restore_on_admit);
  p.set_cpu_offset_ms(s.cpu_offset_ms);
  p.set_forked_from(s.forked_from);
  p.set_pause_reason(s.pause_reason);
  p.set_cpu_ms(s.cpu_ms);
  return p;
}

session::State session_from(const events::SessionSnapshot& p) {
  session::State s;
  s.exists = !p.id().empty();
  s.id = p.id();
  s.org_id = p.org_id();
  s.created_by = p.created_by();
  s.spec = p.spec();
  s.phase = static_cast<session::Phase>(p.phase());
  s.last_seq = p.last_seq();
  s.created_at_ms = p.created_at_ms();
  s.admitted_at_ms = p.admitted_at_ms();
  s.started_at_ms = p.started_at_ms();
  s.ended_at_ms = p.ended_at_ms();
  s.last_activity_ms = p.last_activity_ms();
  s.queue_recorded = p.queue_recorded();
  s.ticket = p.ticket();
  s.admitted = p.admitted();
  s.grant = p.grant();
  s.kill_reason = p.kill_reason();
  s.kill_detail = p.kill_detail();
  s.exited = p.exited();
  if (p.has_exit_code()) s.exit_code = p.exit_code();
  s.stdout_text = p.stdout_text();
  s.stderr_text = p.stderr_text();
  s.json = p.json();
  s.stdout_truncated = p.stdout_truncated();
  s.stderr_truncated = p.stderr_truncated();
  s.exit_detail = p.exit_detail();
  s.turns = p.turns();
  s.turn_ms_total = p.turn_ms_total();
  s.egress_denied = p.egress_denied();
  s.egress_allowed = p.egress_allowed();
  s.usage_recorded = p.usage_recorded();
  s.usage = p.usage();
  s.torn_down = p.torn_down();
  s.container_id = p.container_id();
  s.teardown_incomplete = p.teardown_incomplete();
  s.teardown_attempts = p.teardown_attempts();
  s.paused_at_ms = p.paused_at_ms();
  s.paused_ms_total = p.paused_ms_total();
  s.snapshot_id = p.snapshot_id();
  s.snapshot_sha256 = p.snapshot_sha256();
  s.snapshot_bytes = p.snapshot_bytes();
  s.snapshot_taken_at_ms = p.snapshot_taken_at_ms();
  s.restore_on_admit = p.restore_on_admit();
  s.cpu_offset_ms = p.cpu_offset_ms();
  s.forked_from = p.forked_from();
  s.pause_reason = p.pause_reason();
  s.cpu_ms = p.cpu_ms();
  return s;
}

events::FleetSnapshot of(const fleet::State& f) {
  events::FleetSnapshot p;
  p.set_id(f.id);
  p.set_org_id(f.org_id);
  p.set_created_by(f.created_by);
  p.set_name(f.name);
  p.set_created_at_ms(f.created_at_ms);
  p.set_last_seq(f.last_seq);
  for (const auto& m : f.member_ids) p.add_member_ids(m);
  for (auto ph : f.member_phases) p.add_member_phases(static_cast<int32_t>(ph));
  p.set_torn_down(f.torn_down);
  return p;
}

fleet::State fleet_from(const events::FleetSnapshot& p) {
  fleet::State f;
  f.exists = !p.id().empty();
  f.id = p.id();
  f.org_id = p.org_id();
  f.created_by = p.created_by();
  f.name = p.name();
  f.created_at_ms = p.created_at_ms();
  f.last_seq = p.last_seq();
  f.member_ids.assign(p.member_ids().begin(), p.member_ids().end());
  for (int ph : p.member_phases()) f.member_phases.push_back(static_cast<session::Phase>(ph));
  f.member_phases.resize(f.member_ids.size(), session::Phase::kQueued);
  f.counts = fleet::count_phases(f.member_phases);
  f.torn_down = p.torn_down();
  return f;
}

}  // namespace enclave::snapshot
