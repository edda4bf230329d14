#include "events/fleet.h"

namespace enclave::fleet {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kPending:
      return "pending";
    case Phase::kRunning:
      return "running";
    case Phase::kCompleted:
      return "completed";
    case Phase::kPartial:
      return "partial";
    case Phase::kFailed:
      return "failed";
  }
  return "unknown";
}

Result<std::vector<events::Envelope>> decide(const State& s, const Create& c, TimeMs now) {
  if (s.exists) return make_error(ErrorCode::kConflict, "already_exists", "fleet exists already");
  if (c.member_ids.empty())
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "a fleet needs at least one member", "members");
  events::Envelope e;
  e.set_stream(c.id);
  e.set_seq(1);
  e.set_at_ms(now);
  e.set_org_id(c.org_id);
  auto* f = e.mutable_fleet_created();
  f->set_org_id(c.org_id);
  f->set_created_by(c.created_by);
  f->set_name(c.name);
  for (const auto& m : c.member_ids) f->add_member_ids(m);
  return std::vector<events::Envelope>{std::move(e)};
}

std::vector<events::Envelope> decide(const State& s, const TearDown&, TimeMs now) {
  if (!s.exists || s.torn_down) return {};
  events::Envelope e;
  e.set_stream(s.id);
  e.set_seq(s.last_seq + 1);
  e.set_at_ms(now);
  e.set_org_id(s.org_id);
  e.mutable_fleet_torn_down();
  return {std::move(e)};
}

State apply(State s, const events::Envelope& e) {
  switch (e.payload_case()) {
    case events::Envelope::kFleetCreated: {
      const auto& f = e.fleet_created();
      s = State{};
      s.exists = true;
      s.id = e.stream();
      s.org_id = f.org_id();
      s.created_by = f.created_by();
      s.name = f.name();
      s.created_at_ms = e.at_ms();
      s.member_ids.assign(f.member_ids().begin(), f.member_ids().end());
      s.member_phases.assign(s.member_ids.size(), session::Phase::kQueued);
      s.counts = Counts{};
      s.counts.queued = static_cast<uint32_t>(s.member_ids.size());
      break;
    }
    case events::Envelope::kFleetTornDown:
      if (!s.exists) return s;
      s.torn_down = true;
      break;
    default:
      return s;
  }
  s.last_seq = e.seq();
  return s;
}

namespace {

uint32_t& slot(Counts& c, session::Phase p) {
  switch (p) {
    case session::Phase::kQueued:
      return c.queued;
    case session::Phase::kStarting:
      return c.starting;
    case session::Phase::kRunning:
    case session::Phase::kPaused:  // live, holding no sandbox: counted with the running
      return c.running;
    case session::Phase::kSucceeded:
      return c.succeeded;
    case session::Phase::kFailed:
      return c.failed;
    case session::Phase::kKilled:
      break;
  }
  return c.killed;
}

}  // namespace

State observe(State s, size_t index, session::Phase phase) {
  if (index >= s.member_phases.size()) return s;
  --slot(s.counts, s.member_phases[index]);
  ++slot(s.counts, phase);
  s.member_phases[index] = phase;
  return s;
}

Counts count_phases(const std::vector<session::Phase>& phases) {
  Counts c;
  for (auto p : phases) ++slot(c, p);
  return c;
}

Counts counts(const State& s) { return s.counts; }

State header_of(const State& s) {
  State h;
  h.exists = s.exists;
  h.id = s.id;
  h.org_id = s.org_id;
  h.created_by = s.created_by;
  h.name = s.name;
  h.created_at_ms = s.created_at_ms;
  h.last_seq = s.last_seq;
  h.counts = s.counts;
  h.torn_down = s.torn_down;
  return h;
}

Phase aggregate(const Counts& c) {
  if (c.total() == 0 || c.queued == c.total()) return Phase::kPending;
  if (c.terminal() < c.total()) return Phase::kRunning;
  if (c.succeeded == c.total()) return Phase::kCompleted;
  if (c.succeeded > 0) return Phase::kPartial;
  return Phase::kFailed;
}

}  // namespace enclave::fleet
