// Live SSE pub/sub of the read model: who listens to which session stream or fleet, and the
// fan-out of committed events, output chunks and fleet member deltas to them. Callbacks run
// outside the lock, on the commit thread or a backend thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/engine_types.h"
#include "events/fleet.h"
#include "storage/event_log.h"

namespace enclave {

class Subscriptions {
 public:
  using Fn = std::function<void(const StreamItem&)>;

  uint64_t subscribe(const std::string& id, Fn fn);
  // A fleet's member phase changes: see ReadModel::subscribe_fleet.
  uint64_t subscribe_fleet(const std::string& id, Fn fn);
  void unsubscribe(uint64_t sub);
  bool fleet_subs_empty() const;

  // Each committed event to its stream's subscribers (kAudit, then kEnd after a teardown).
  void publish_committed(const std::vector<const storage::Stored*>& batch);
  // Sends each subscribed fleet one delta for the (fleet id, member index) changes of a batch;
  // `fleet_of` reads the fleet's current state.
  void publish_fleet_changes(
      const std::vector<std::pair<std::string, uint32_t>>& changes,
      const std::function<std::optional<fleet::State>(const std::string&)>& fleet_of);
  void publish_output(const std::string& id, const std::string& stream, const std::string& data,
                      uint32_t turn, bool truncated);

 private:
  mutable std::mutex sub_mu_;
  uint64_t next_sub_ = 1;
  std::unordered_map<uint64_t, std::pair<std::string, Fn>> subs_;
  std::unordered_multimap<std::string, uint64_t> subs_by_stream_;
  std::unordered_multimap<std::string, uint64_t> fleet_subs_;  // fleet id → subscription
};

}  // namespace enclave
