// The committed projection of the log: every session, fleet and API key folded through the same
// pure `apply` the actors use, updated on the commit thread right after each durable batch.
// Every API read is answered from here, so nothing the log does not hold can appear in one.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/engine.h"
#include "events/api_keys.h"
#include "events/fleet.h"
#include "events/session.h"
#include "storage/event_log.h"

namespace enclave {

class ReadModel {
 public:
  // Folds one committed event (commit order). Not thread-safe with itself: one writer.
  void apply(const storage::Stored& s);
  // Folds a batch and notifies subscribers.
  void apply_committed(const std::vector<const storage::Stored*>& batch);

  std::optional<session::State> session(const std::string& id) const;
  std::optional<fleet::State> fleet(const std::string& id) const;
  // Sessions of an org in creation order, after `after_gseq`, filtered; at most `limit`.
  std::vector<std::pair<uint64_t, session::State>> list_sessions(const std::string& org,
                                                                 const std::string& fleet_id,
                                                                 const std::string& phase,
                                                                 uint64_t after_gseq,
                                                                 size_t limit) const;
  std::vector<fleet::State> list_fleets(const std::string& org) const;
  std::optional<api_keys::Key> key_by_hash(const std::string& hash_hex) const;
  // Every session that is not torn down (for recovery), in creation order.
  std::vector<session::State> live_sessions() const;
  std::vector<fleet::State> live_fleets() const;

  // Live stream subscriptions. `fn` runs on the commit thread or a backend thread.
  uint64_t subscribe(const std::string& id, std::function<void(const StreamItem&)> fn);
  void unsubscribe(uint64_t sub);
  void publish_output(const std::string& id, const std::string& stream, const std::string& data,
                      uint32_t turn);

  // Counters for /metrics (monotonic unless noted).
  struct Counters {
    std::map<std::string, uint64_t> phase_now;        // gauge: sessions per phase
    std::map<std::string, uint64_t> kills_by_reason;  // total
    std::map<std::string, uint64_t> egress_denied_by_org;
    uint64_t events = 0, sessions_created = 0, fleets_created = 0, turns = 0;
    uint64_t turn_ms_sum = 0, launch_ms_sum = 0, launches = 0;
    std::array<uint64_t, 12> launch_hist{};  // buckets, see kLaunchBucketsMs
    std::array<uint64_t, 12> turn_hist{};
  };
  static constexpr std::array<double, 11> kBucketsMs = {1, 2, 5, 10, 25, 50, 100,
                                                        250, 500, 1000, 5000};
  Counters counters() const;

 private:
  void note_phase(const session::State* before, const session::State& after);

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, session::State> sessions_;
  std::unordered_map<std::string, uint64_t> created_gseq_;
  std::unordered_map<std::string, fleet::State> fleets_;
  std::map<std::string, std::map<uint64_t, std::string>> org_sessions_;  // org → gseq → id
  std::map<std::string, std::map<uint64_t, std::string>> org_fleets_;
  api_keys::State keys_;
  Counters counters_;

  std::mutex sub_mu_;
  uint64_t next_sub_ = 1;
  std::unordered_map<uint64_t, std::pair<std::string, std::function<void(const StreamItem&)>>>
      subs_;
  std::unordered_multimap<std::string, uint64_t> subs_by_stream_;
};

}  // namespace enclave
