// ReadModel's durable side: the checkpoint of the live part (written and loaded) and the
// snapshots of ended work (see read_model.h).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "actors/read_model.h"
#include "events/ids.h"
#include "events/snapshot.h"

namespace enclave {

namespace {

const std::string kCheckpointKey = std::string("\0checkpoint", 11);

template <typename M>
void copy_map(const M& from, std::map<std::string, uint64_t>& to) {
  for (const auto& [k, v] : from) to[k] = v;
}

}  // namespace

// ---- startup and checkpoints ------------------------------------------------------------------

uint64_t ReadModel::load(std::string* warning) {
  std::unique_lock lock(mu_);
  auto keys = log_->read_stream(keys_stream_id());
  if (keys)
    for (const auto& e : *keys) keys_ = api_keys::apply(std::move(keys_), e.envelope);
  auto bytes = log_->get_snapshot(kCheckpointKey);
  if (!bytes) return 0;
  events::Checkpoint cp;
  if (!cp.ParseFromString(*bytes) || cp.global_seq() > log_->last_global_seq()) {
    *warning = "the read-model checkpoint is damaged or ahead of the log; folding the whole log";
    return 0;
  }
  for (const auto& p : cp.live_sessions()) {
    auto s = snapshot::session_from(p);
    auto g = cp.created_gseq().find(to_hex(s.id));
    created_gseq_[s.id] = g == cp.created_gseq().end() ? 0 : static_cast<uint64_t>(g->second);
    if (s.phase == session::Phase::kQueued) queued_by_org_[s.org_id]++;
    sessions_[s.id] = std::move(s);
  }
  for (const auto& p : cp.live_fleets()) {
    auto f = snapshot::fleet_from(p);
    size_t live = 0;
    for (const auto& m : f.member_ids) live += sessions_.count(m);
    fleet_live_[f.id] = live;
    fleets_[f.id] = std::move(f);
  }
  copy_map(cp.phase_now(), counters_.phase_now);
  copy_map(cp.kills_by_reason(), counters_.kills_by_reason);
  copy_map(cp.egress_denied_by_org(), counters_.egress_denied_by_org);
  counters_.events = cp.events();
  counters_.sessions_created = cp.sessions_created();
  counters_.fleets_created = cp.fleets_created();
  counters_.turns = cp.turns();
  counters_.turn_ms_sum = cp.turn_ms_sum();
  counters_.launch_ms_sum = cp.launch_ms_sum();
  counters_.launches = cp.launches();
  for (int i = 0; i < cp.launch_hist_size() && i < 12; ++i)
    counters_.launch_hist[i] = cp.launch_hist(i);
  for (int i = 0; i < cp.turn_hist_size() && i < 12; ++i) counters_.turn_hist[i] = cp.turn_hist(i);
  applied_gseq_ = checkpoint_gseq_ = cp.global_seq();
  return cp.global_seq();
}

uint64_t ReadModel::checkpoint_interval() const {
  // A checkpoint writes every live session and fleet member: at least twice that many events
  // apart, its cost stays O(1) per event however much is live (100k queued members made a
  // fixed interval quadratic), and a crash folds at most this many events on restart.
  uint64_t live = sessions_.size();
  for (const auto& [id, f] : fleets_) live += f.member_ids.size();
  return std::max<uint64_t>(kCheckpointEvery, 2 * live);
}

void ReadModel::maybe_checkpoint(bool force) {
  std::string bytes;
  {
    std::shared_lock lock(mu_);
    if (applied_gseq_ == checkpoint_gseq_) return;
    const uint64_t since = applied_gseq_ - checkpoint_gseq_;
    // (the fixed floor first: the interval's count of live members is only needed past it)
    if (!force && (since < kCheckpointEvery || since < checkpoint_interval())) return;
    events::Checkpoint cp;
    cp.set_global_seq(applied_gseq_);
    for (const auto& [id, s] : sessions_) {
      *cp.add_live_sessions() = snapshot::of(s);
      (*cp.mutable_created_gseq())[to_hex(id)] = static_cast<int64_t>(created_gseq_.at(id));
    }
    for (const auto& [id, f] : fleets_) *cp.add_live_fleets() = snapshot::of(f);
    for (const auto& [k, v] : counters_.phase_now) (*cp.mutable_phase_now())[k] = v;
    for (const auto& [k, v] : counters_.kills_by_reason) (*cp.mutable_kills_by_reason())[k] = v;
    for (const auto& [k, v] : counters_.egress_denied_by_org)
      (*cp.mutable_egress_denied_by_org())[k] = v;
    cp.set_events(counters_.events);
    cp.set_sessions_created(counters_.sessions_created);
    cp.set_fleets_created(counters_.fleets_created);
    cp.set_turns(counters_.turns);
    cp.set_turn_ms_sum(counters_.turn_ms_sum);
    cp.set_launch_ms_sum(counters_.launch_ms_sum);
    cp.set_launches(counters_.launches);
    for (auto v : counters_.launch_hist) cp.add_launch_hist(v);
    for (auto v : counters_.turn_hist) cp.add_turn_hist(v);
    cp.SerializeToString(&bytes);
  }
  uint64_t at = applied_gseq_;
  if (auto r = log_->put_snapshot(kCheckpointKey, bytes); !r) {
    spdlog::warn("read-model checkpoint not written: {}", r.error().message);
    return;
  }
  checkpoint_gseq_ = at;
}

// ---- snapshots of ended work ----------------------------------------------------------------

void ReadModel::flush_snapshots() {
  std::vector<std::pair<std::string, std::string>> snaps;
  {
    std::unique_lock lock(mu_);
    snaps.swap(pending_snapshots_);
  }
  if (snaps.empty()) return;
  // One write for the batch's ended sessions: each Put of its own joined the commit writer's
  // write group and pushed its memtable inserts onto the slower concurrent path.
  if (auto r = log_->put_snapshots(snaps); !r)
    spdlog::warn("{} snapshots not written (reads will fold their streams): {}", snaps.size(),
                 r.error().message);
}

}  // namespace enclave
