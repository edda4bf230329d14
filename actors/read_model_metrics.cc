// ReadModel's counters for /metrics: phases now, queued per org, kills, egress denials, turn and
// launch latency histograms, kept on the commit thread beside the projection (mu_ held).
#include <algorithm>

#include "actors/read_model.h"

namespace enclave {

namespace {

size_t bucket(uint64_t ms) {
  for (size_t i = 0; i < ReadModel::kBucketsMs.size(); ++i)
    if (static_cast<double>(ms) <= ReadModel::kBucketsMs[i]) return i;
  return ReadModel::kBucketsMs.size();
}

}  // namespace

void ReadModel::note_phase(const session::State* before, const session::State& after) {
  if (before && before->exists) {
    if (before->phase == after.phase) return;
    counters_.phase_now[session::phase_name(before->phase)]--;
    if (before->phase == session::Phase::kQueued) {
      auto q = queued_by_org_.find(before->org_id);
      if (q != queued_by_org_.end() && --q->second == 0) queued_by_org_.erase(q);
    }
  }
  counters_.phase_now[session::phase_name(after.phase)]++;
  if (after.phase == session::Phase::kQueued) queued_by_org_[after.org_id]++;
}

uint64_t ReadModel::queued_in(const std::string& org) const {
  std::shared_lock lock(mu_);
  auto it = queued_by_org_.find(org);
  return it == queued_by_org_.end() ? 0 : it->second;
}

void ReadModel::count(const events::Envelope& e, const session::State& s) {
  using E = events::Envelope;
  switch (e.payload_case()) {
    case E::kQuotaKilled:
      counters_.kills_by_reason[session::kill_reason_name(e.quota_killed().reason())]++;
      break;
    case E::kEgressDenied:
      counters_.egress_denied_by_org[s.org_id]++;
      break;
    case E::kExecTurn:
      counters_.turns++;
      counters_.turn_ms_sum += e.exec_turn().duration_ms();
      counters_.turn_hist[bucket(e.exec_turn().duration_ms())]++;
      break;
    case E::kSandboxStarted:
      if (!e.sandbox_started().reattached() && s.admitted_at_ms) {
        uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(0, e.at_ms() - s.admitted_at_ms));
        counters_.launches++;
        counters_.launch_ms_sum += ms;
        counters_.launch_hist[bucket(ms)]++;
      }
      break;
    default:
      break;
  }
}

ReadModel::Counters ReadModel::counters() const {
  std::shared_lock lock(mu_);
  return counters_;
}

}  // namespace enclave
