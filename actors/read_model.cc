#include "actors/read_model.h"

#include "events/ids.h"
#include "events/views.h"

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
  }
  counters_.phase_now[session::phase_name(after.phase)]++;
}

void ReadModel::apply(const storage::Stored& st) {
  const auto& e = st.envelope;
  counters_.events++;
  using E = events::Envelope;
  switch (e.payload_case()) {
    case E::kFleetCreated:
    case E::kFleetTornDown: {
      auto& f = fleets_[e.stream()];
      f = fleet::apply(std::move(f), e);
      if (e.payload_case() == E::kFleetCreated) {
        org_fleets_[f.org_id][st.global_seq] = e.stream();
        counters_.fleets_created++;
      }
      return;
    }
    case E::kApiKeyCreated:
    case E::kApiKeyRevoked:
      keys_ = api_keys::apply(std::move(keys_), e);
      return;
    default:
      break;
  }
  auto it = sessions_.find(e.stream());
  if (it == sessions_.end()) {
    if (e.payload_case() != E::kSessionCreated) return;
    it = sessions_.emplace(e.stream(), session::State{}).first;
    created_gseq_[e.stream()] = st.global_seq;
    org_sessions_[e.session_created().org_id()][st.global_seq] = e.stream();
    counters_.sessions_created++;
    session::State fresh = session::apply(session::State{}, e);
    note_phase(nullptr, fresh);
    it->second = std::move(fresh);
  } else {
    session::State next = session::apply(it->second, e);
    note_phase(&it->second, next);
    it->second = std::move(next);
  }
  const auto& s = it->second;
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
  if (!s.spec.fleet_id().empty()) {
    auto f = fleets_.find(s.spec.fleet_id());
    if (f != fleets_.end()) f->second = fleet::observe(std::move(f->second), s.spec.fleet_index(),
                                                       s.phase);
  }
}

void ReadModel::apply_committed(const std::vector<const storage::Stored*>& batch) {
  {
    std::unique_lock lock(mu_);
    for (const auto* s : batch) apply(*s);
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

std::optional<session::State> ReadModel::session(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

std::optional<fleet::State> ReadModel::fleet(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = fleets_.find(id);
  if (it == fleets_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<uint64_t, session::State>> ReadModel::list_sessions(
    const std::string& org, const std::string& fleet_id, const std::string& phase,
    uint64_t after_gseq, size_t limit) const {
  std::vector<std::pair<uint64_t, session::State>> out;
  std::shared_lock lock(mu_);
  auto o = org_sessions_.find(org);
  if (o == org_sessions_.end()) return out;
  for (auto it = o->second.upper_bound(after_gseq); it != o->second.end() && out.size() < limit;
       ++it) {
    const auto& s = sessions_.at(it->second);
    if (!fleet_id.empty() && s.spec.fleet_id() != fleet_id) continue;
    if (!phase.empty() && phase != session::phase_name(s.phase)) continue;
    out.emplace_back(it->first, s);
  }
  return out;
}

std::vector<fleet::State> ReadModel::list_fleets(const std::string& org) const {
  std::vector<fleet::State> out;
  std::shared_lock lock(mu_);
  auto o = org_fleets_.find(org);
  if (o == org_fleets_.end()) return out;
  for (const auto& [g, id] : o->second) out.push_back(fleets_.at(id));
  return out;
}

std::optional<api_keys::Key> ReadModel::key_by_hash(const std::string& hash_hex) const {
  std::shared_lock lock(mu_);
  const auto* k = api_keys::find_live(keys_, hash_hex);
  if (!k) return std::nullopt;
  return *k;
}

std::vector<session::State> ReadModel::live_sessions() const {
  std::shared_lock lock(mu_);
  std::map<uint64_t, const session::State*> ordered;
  for (const auto& [id, s] : sessions_)
    if (!s.torn_down) ordered[created_gseq_.at(id)] = &s;
  std::vector<session::State> out;
  for (auto& [g, s] : ordered) out.push_back(*s);
  return out;
}

std::vector<fleet::State> ReadModel::live_fleets() const {
  std::shared_lock lock(mu_);
  std::vector<fleet::State> out;
  for (const auto& [id, f] : fleets_) {
    bool live = false;
    for (const auto& m : f.member_ids) {
      auto s = sessions_.find(m);
      live |= s != sessions_.end() && !s->second.torn_down;
    }
    if (live) out.push_back(f);
  }
  return out;
}

uint64_t ReadModel::subscribe(const std::string& id, std::function<void(const StreamItem&)> fn) {
  std::lock_guard lock(sub_mu_);
  uint64_t sub = next_sub_++;
  subs_[sub] = {id, std::move(fn)};
  subs_by_stream_.emplace(id, sub);
  return sub;
}

void ReadModel::unsubscribe(uint64_t sub) {
  std::lock_guard lock(sub_mu_);
  auto it = subs_.find(sub);
  if (it == subs_.end()) return;
  auto range = subs_by_stream_.equal_range(it->second.first);
  for (auto r = range.first; r != range.second; ++r)
    if (r->second == sub) {
      subs_by_stream_.erase(r);
      break;
    }
  subs_.erase(it);
}

void ReadModel::publish_output(const std::string& id, const std::string& stream,
                               const std::string& data, uint32_t turn) {
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
  for (auto& fn : fns) fn(item);
}

ReadModel::Counters ReadModel::counters() const {
  std::shared_lock lock(mu_);
  return counters_;
}

}  // namespace enclave
