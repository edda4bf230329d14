#include "actors/read_model.h"

#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "actors/lifecycle_log.h"
#include "events/ids.h"
#include "events/snapshot.h"
#include "events/views.h"

namespace enclave {

namespace {

const std::string kCheckpointKey = std::string("\0checkpoint", 11);

size_t bucket(uint64_t ms) {
  for (size_t i = 0; i < ReadModel::kBucketsMs.size(); ++i)
    if (static_cast<double>(ms) <= ReadModel::kBucketsMs[i]) return i;
  return ReadModel::kBucketsMs.size();
}

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

// ---- folding ----------------------------------------------------------------------------------

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

void ReadModel::apply(const storage::Stored& st) {
  const auto& e = st.envelope;
  applied_gseq_ = std::max(applied_gseq_, st.global_seq);
  counters_.events++;
  using E = events::Envelope;
  switch (e.payload_case()) {
    case E::kFleetCreated:
    case E::kFleetTornDown: {
      auto it = fleets_.find(e.stream());
      if (it == fleets_.end()) {
        auto cold = e.payload_case() == E::kFleetCreated ? std::nullopt : cold_fleet(e.stream());
        it = fleets_.emplace(e.stream(), cold.value_or(fleet::State{})).first;
      }
      it->second = fleet::apply(std::move(it->second), e);
      if (live_) pending_log_.push_back(fleet_lifecycle_line(e, it->second));
      if (e.payload_case() == E::kFleetCreated) {
        counters_.fleets_created++;
        fleet_live_[e.stream()] = it->second.member_ids.size();
      }
      return;
    }
    case E::kApiKeyCreated:
    case E::kApiKeyRevoked:
      keys_ = api_keys::apply(std::move(keys_), e);
      return;
    case E::kOrgSettingsSet:  // read by the engine when it opens (actors/org_admin.h)
    case E::kSecretSet:       // folded by the secret service (actors/secret_service.h)
    case E::kSecretDeleted:
      return;
    default:
      break;
  }
  auto it = sessions_.find(e.stream());
  if (it == sessions_.end()) {
    if (e.payload_case() == E::kSessionCreated) {
      session::State fresh = session::apply(session::State{}, e);
      note_phase(nullptr, fresh);
      counters_.sessions_created++;
      created_gseq_[e.stream()] = st.global_seq;
      it = sessions_.emplace(e.stream(), std::move(fresh)).first;
    } else {
      auto cold = cold_session(e.stream());  // an event for ended work: bring it back
      if (!cold) return;
      created_gseq_[e.stream()] = st.global_seq;
      it = sessions_.emplace(e.stream(), std::move(*cold)).first;
    }
  }
  bool phase_changed = e.payload_case() == E::kSessionCreated;
  if (e.payload_case() != E::kSessionCreated) {
    session::State next = session::apply(it->second, e);
    note_phase(&it->second, next);
    phase_changed = next.phase != it->second.phase;
    it->second = std::move(next);
  }
  const session::State& s = it->second;
  if (live_) {
    pending_log_.push_back(session_lifecycle_line(e, s));
    if (phase_changed && !s.spec.fleet_id().empty())
      fleet_changes_.emplace_back(s.spec.fleet_id(), s.spec.fleet_index());
  }
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
  auto f = s.spec.fleet_id().empty() ? fleets_.end() : fleets_.find(s.spec.fleet_id());
  if (f != fleets_.end())
    f->second = fleet::observe(std::move(f->second), s.spec.fleet_index(), s.phase);
  if (e.payload_case() != E::kSessionTornDown) return;

  // Ended: snapshot it, keep it in the cache, drop it from memory.
  std::string bytes;
  snapshot::of(s).SerializeToString(&bytes);
  pending_snapshots_.emplace_back(s.id, std::move(bytes));
  ended_.put(s.id, s);
  if (f != fleets_.end() && fleet_live_[f->first] > 0 && --fleet_live_[f->first] == 0) {
    std::string fb;
    snapshot::of(f->second).SerializeToString(&fb);
    pending_snapshots_.emplace_back(f->first, std::move(fb));
    ended_.put(f->first, f->second);
    fleet_live_.erase(f->first);
    fleets_.erase(f);
  }
  created_gseq_.erase(s.id);
  sessions_.erase(it);
}

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

void ReadModel::apply_committed(const std::vector<const storage::Stored*>& batch) {
  std::vector<std::string> lines;
  std::vector<std::pair<std::string, uint32_t>> changes;
  {
    std::unique_lock lock(mu_);
    live_ = spdlog::should_log(spdlog::level::info) || !fleet_subs_empty();
    for (const auto* s : batch) apply(*s);
    live_ = false;
    lines.swap(pending_log_);
    changes.swap(fleet_changes_);
  }
  for (const auto& l : lines) spdlog::info("{}", l);
  flush_snapshots();
  if (!changes.empty()) publish_fleet_changes(changes);
  if (waiters_.size() > 0) {
    for (const auto* s : batch) {
      const std::string& id = s->envelope.stream();
      if (!waiters_.waiting_for(id)) continue;
      auto st = session(id);
      if (st && session::settled(*st)) waiters_.settle(id);
    }
  }
  std::vector<std::pair<std::function<void(const StreamItem&)>, StreamItem>> calls;
  {
    std::lock_guard lock(sub_mu_);
    if (subs_by_stream_.empty()) return;
    for (const auto* s : batch) {
      auto range = subs_by_stream_.equal_range(s->envelope.stream());
      for (auto it = range.first; it != range.second; ++it) {
        StreamItem item;
        item.kind = StreamItem::Kind::kAudit;
        item.audit = views::audit_event(s->envelope, to_hex(s->hash));
        calls.emplace_back(subs_[it->second].second, item);
        if (s->envelope.payload_case() == events::Envelope::kSessionTornDown) {
          StreamItem end;
          end.kind = StreamItem::Kind::kEnd;
          calls.emplace_back(subs_[it->second].second, end);
        }
      }
    }
  }
  for (auto& [fn, item] : calls) fn(item);
}

// ---- ended work: cache → snapshot → fold ------------------------------------------------------

bool ReadModel::stream_starts_with(const std::string& id,
                                   events::Envelope::PayloadCase kind) const {
  auto first = log_->read_stream(id, 1, 1);
  return first && !first->empty() && first->front().envelope.payload_case() == kind;
}

std::optional<session::State> ReadModel::cold_session(const std::string& id) const {
  if (auto hit = ended_.session(id)) return hit;
  auto head = log_->head(id);
  if (!head || !stream_starts_with(id, events::Envelope::kSessionCreated)) return std::nullopt;
  session::State s;
  if (auto bytes = log_->get_snapshot(id)) {
    events::SessionSnapshot p;
    if (p.ParseFromString(*bytes) && p.id() == id && p.last_seq() <= head->seq)
      s = snapshot::session_from(p);
    else
      spdlog::warn("snapshot of {} is damaged; folding its stream", to_hex(id));
  }
  if (s.last_seq < head->seq) {  // fold what the snapshot does not cover (or everything)
    auto events = log_->read_stream(id, s.last_seq + 1);
    if (!events) return std::nullopt;
    for (const auto& e : *events) s = session::apply(std::move(s), e.envelope);
  }
  if (!s.exists) return std::nullopt;
  ended_.put(id, s);
  return s;
}

std::optional<fleet::State> ReadModel::cold_fleet(const std::string& id) const {
  if (auto hit = ended_.fleet(id)) return hit;
  auto head = log_->head(id);
  if (!head || !stream_starts_with(id, events::Envelope::kFleetCreated)) return std::nullopt;
  fleet::State f;
  if (auto bytes = log_->get_snapshot(id)) {
    events::FleetSnapshot p;
    if (p.ParseFromString(*bytes) && p.id() == id && p.last_seq() <= head->seq)
      f = snapshot::fleet_from(p);
  }
  if (f.last_seq < head->seq) {
    auto events = log_->read_stream(id, f.last_seq + 1);
    if (!events) return std::nullopt;
    for (const auto& e : *events) f = fleet::apply(std::move(f), e.envelope);
    for (size_t i = 0; i < f.member_ids.size(); ++i)
      // a fleet is cold only once every member has ended, so its members are cold too
      if (auto m = cold_session(f.member_ids[i])) f = fleet::observe(std::move(f), i, m->phase);
  }
  if (!f.exists) return std::nullopt;
  ended_.put(id, f);
  return f;
}

// ---- reads ------------------------------------------------------------------------------------

std::optional<session::State> ReadModel::session(const std::string& id) const {
  {
    std::shared_lock lock(mu_);
    auto it = sessions_.find(id);
    if (it != sessions_.end()) return it->second;
  }
  return cold_session(id);
}

std::optional<fleet::State> ReadModel::fleet(const std::string& id, bool members) const {
  {
    std::shared_lock lock(mu_);
    auto it = fleets_.find(id);
    if (it != fleets_.end()) return members ? it->second : fleet::header_of(it->second);
  }
  auto cold = cold_fleet(id);
  if (cold && !members) return fleet::header_of(*cold);
  return cold;
}

ReadModel::Page ReadModel::list_sessions(const std::string& org, const std::string& fleet_id,
                                         const std::string& phase, uint64_t cursor,
                                         size_t limit) const {
  Page page;
  auto keep = [&](const session::State& s) {
    return s.org_id == org && (phase.empty() || phase == session::phase_name(s.phase));
  };
  const size_t max_scan = std::max<size_t>(limit * 10, 1000);
  size_t scanned = 0;
  if (!fleet_id.empty()) {  // a fleet's members, by index; the cursor is the next index
    auto f = fleet(fleet_id);
    if (!f || f->org_id != org) return page;
    for (size_t i = cursor; i < f->member_ids.size(); ++i) {
      if (page.sessions.size() == limit || ++scanned > max_scan) {
        page.next_cursor = i;
        break;
      }
      if (auto s = session(f->member_ids[i]); s && keep(*s)) page.sessions.push_back(*s);
    }
    return page;
  }
  (void)log_->scan_org(org, cursor, [&](uint64_t gseq, const std::string& id, char kind) {
    if (kind != 'S') return true;
    if (page.sessions.size() == limit || ++scanned > max_scan) {
      page.next_cursor = gseq - 1;
      return false;
    }
    if (auto s = session(id); s && keep(*s)) page.sessions.push_back(*s);
    return true;
  });
  return page;
}

std::vector<fleet::State> ReadModel::list_fleets(const std::string& org) const {
  std::vector<fleet::State> out;
  (void)log_->scan_org(org, 0, [&](uint64_t, const std::string& id, char kind) {
    if (kind == 'F')
      if (auto f = fleet(id)) out.push_back(std::move(*f));
    return true;
  });
  return out;
}

std::optional<api_keys::Key> ReadModel::key_by_hash(const std::string& hash_hex) const {
  std::shared_lock lock(mu_);
  const auto* k = api_keys::find_live(keys_, hash_hex);
  if (!k) return std::nullopt;
  return *k;
}

std::optional<api_keys::Key> ReadModel::key_by_id(const std::string& key_id) const {
  std::shared_lock lock(mu_);
  auto it = keys_.by_id.find(key_id);
  if (it == keys_.by_id.end()) return std::nullopt;
  return it->second;
}

std::vector<api_keys::Key> ReadModel::keys_of_org(const std::string& org) const {
  std::shared_lock lock(mu_);
  return api_keys::of_org(keys_, org);
}

uint64_t ReadModel::keys_last_seq() const {
  std::shared_lock lock(mu_);
  return keys_.last_seq;
}

std::vector<session::State> ReadModel::live_sessions() const {
  std::shared_lock lock(mu_);
  std::vector<std::pair<uint64_t, const session::State*>> ordered;
  for (const auto& [id, s] : sessions_) ordered.emplace_back(created_gseq_.at(id), &s);
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<session::State> out;
  for (auto& [g, s] : ordered) out.push_back(*s);
  return out;
}

std::vector<fleet::State> ReadModel::live_fleets() const {
  std::shared_lock lock(mu_);
  std::vector<fleet::State> out;
  for (const auto& [id, f] : fleets_) out.push_back(f);
  return out;
}

size_t ReadModel::live_count() const {
  std::shared_lock lock(mu_);
  return sessions_.size();
}

ReadModel::Counters ReadModel::counters() const {
  std::shared_lock lock(mu_);
  return counters_;
}

// ---- subscriptions ----------------------------------------------------------------------------

uint64_t ReadModel::subscribe(const std::string& id, std::function<void(const StreamItem&)> fn) {
  std::lock_guard lock(sub_mu_);
  uint64_t sub = next_sub_++;
  subs_[sub] = {id, std::move(fn)};
  subs_by_stream_.emplace(id, sub);
  return sub;
}

uint64_t ReadModel::subscribe_fleet(const std::string& id,
                                    std::function<void(const StreamItem&)> fn) {
  std::lock_guard lock(sub_mu_);
  uint64_t sub = next_sub_++;
  subs_[sub] = {id, std::move(fn)};
  fleet_subs_.emplace(id, sub);
  return sub;
}

bool ReadModel::fleet_subs_empty() const {
  std::lock_guard lock(sub_mu_);
  return fleet_subs_.empty();
}

void ReadModel::unsubscribe(uint64_t sub) {
  std::lock_guard lock(sub_mu_);
  auto it = subs_.find(sub);
  if (it == subs_.end()) return;
  for (auto* index : {&subs_by_stream_, &fleet_subs_}) {
    auto range = index->equal_range(it->second.first);
    for (auto r = range.first; r != range.second; ++r)
      if (r->second == sub) {
        index->erase(r);
        break;
      }
  }
  subs_.erase(it);
}

void ReadModel::publish_fleet_changes(
    const std::vector<std::pair<std::string, uint32_t>>& changes) {
  std::map<std::string, std::set<uint32_t>> by_fleet;
  std::map<std::string, std::vector<std::function<void(const StreamItem&)>>> fns;
  {
    std::lock_guard lock(sub_mu_);
    for (const auto& [fleet_id, index] : changes) {
      auto range = fleet_subs_.equal_range(fleet_id);
      if (range.first == range.second) continue;
      auto& indexes = by_fleet[fleet_id];
      if (indexes.empty())
        for (auto r = range.first; r != range.second; ++r)
          fns[fleet_id].push_back(subs_[r->second].second);
      indexes.insert(index);
    }
  }
  for (const auto& [fleet_id, indexes] : by_fleet) {
    auto f = fleet(fleet_id);
    if (!f) continue;
    StreamItem item;
    item.kind = StreamItem::Kind::kFleet;
    item.fleet_delta = true;
    item.fleet = views::fleet(*f);
    auto* members = item.fleet.mutable_members();
    int keep = 0;
    for (int i = 0; i < members->size(); ++i)
      if (indexes.count(members->Get(i).index())) members->SwapElements(i, keep++);
    while (members->size() > keep) members->RemoveLast();
    bool final = fleet::aggregate(fleet::counts(*f)) >= fleet::Phase::kCompleted;
    for (const auto& fn : fns[fleet_id]) {
      fn(item);
      if (final) fn(StreamItem{StreamItem::Kind::kEnd, {}, {}, {}, 0, {}, false});
    }
  }
}

void ReadModel::publish_output(const std::string& id, const std::string& stream,
                               const std::string& data, uint32_t turn, bool truncated) {
  std::vector<std::function<void(const StreamItem&)>> fns;
  {
    std::lock_guard lock(sub_mu_);
    auto range = subs_by_stream_.equal_range(id);
    for (auto it = range.first; it != range.second; ++it) fns.push_back(subs_[it->second].second);
  }
  if (fns.empty()) return;
  StreamItem item;
  item.kind = StreamItem::Kind::kOutput;
  item.stream = stream;
  item.data = data;
  item.turn = turn;
  item.truncated = truncated;
  for (auto& fn : fns) fn(item);
}

}  // namespace enclave
