#include "actors/subscriptions.h"

#include <map>
#include <set>

#include "events/ids.h"
#include "events/views/api_views.h"

namespace enclave {

uint64_t Subscriptions::subscribe(const std::string& id, Fn fn) {
  std::lock_guard lock(sub_mu_);
  uint64_t sub = next_sub_++;
  subs_[sub] = {id, std::move(fn)};
  subs_by_stream_.emplace(id, sub);
  return sub;
}

uint64_t Subscriptions::subscribe_fleet(const std::string& id, Fn fn) {
  std::lock_guard lock(sub_mu_);
  uint64_t sub = next_sub_++;
  subs_[sub] = {id, std::move(fn)};
  fleet_subs_.emplace(id, sub);
  return sub;
}

bool Subscriptions::fleet_subs_empty() const {
  std::lock_guard lock(sub_mu_);
  return fleet_subs_.empty();
}

void Subscriptions::unsubscribe(uint64_t sub) {
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

void Subscriptions::publish_fleet_changes(
    const std::vector<std::pair<std::string, uint32_t>>& changes,
    const std::function<std::optional<fleet::State>(const std::string&)>& fleet_of) {
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
    auto f = fleet_of(fleet_id);
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

void Subscriptions::publish_output(const std::string& id, const std::string& stream,
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

void Subscriptions::publish_committed(const std::vector<const storage::Stored*>& batch) {
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

}  // namespace enclave
