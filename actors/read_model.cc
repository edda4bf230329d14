#include "actors/read_model.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "actors/lifecycle_log.h"
#include "events/ids.h"
#include "events/snapshot.h"

namespace enclave {

// ---- folding ----------------------------------------------------------------------------------

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
  count(e, s);
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

void ReadModel::apply_committed(const std::vector<const storage::Stored*>& batch) {
  std::vector<std::string> lines;
  std::vector<std::pair<std::string, uint32_t>> changes;
  {
    std::unique_lock lock(mu_);
    live_ = spdlog::should_log(spdlog::level::info) || !subs_.fleet_subs_empty();
    for (const auto* s : batch) apply(*s);
    live_ = false;
    lines.swap(pending_log_);
    changes.swap(fleet_changes_);
  }
  for (const auto& l : lines) spdlog::info("{}", l);
  flush_snapshots();
  if (!changes.empty())
    subs_.publish_fleet_changes(changes, [this](const std::string& id) { return fleet(id); });
  if (waiters_.size() > 0) {
    for (const auto* s : batch) {
      const std::string& id = s->envelope.stream();
      if (!waiters_.waiting_for(id)) continue;
      auto st = session(id);
      if (st && session::settled(*st)) waiters_.settle(id);
    }
  }
  subs_.publish_committed(batch);
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

}  // namespace enclave
