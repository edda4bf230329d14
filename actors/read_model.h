// The committed projection of the log: every session, fleet and API key folded through the same
// pure `apply` the actors use, updated on the commit thread right after each durable batch.
// Every API read is answered from here, so nothing the log does not hold can appear in one.
//
// Memory holds only live work: sessions not yet torn down and fleets with a live member. When a
// session is torn down (or a fleet's last member), its final state is written as a snapshot
// (snapshots column family) and dropped from memory; reads of ended work go through a bounded
// cache → snapshot → a fold of the stream (if the snapshot is missing or damaged). A checkpoint
// of the live part (plus counters) lets a restart fold only the events after it, so restart time
// depends on live work, not on history.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/ended_cache.h"
#include "actors/engine_types.h"
#include "actors/session_waiters.h"
#include "events/api_keys.h"
#include "events/fleet.h"
#include "events/session.h"
#include "storage/event_log.h"

namespace enclave {

class ReadModel {
 public:
  explicit ReadModel(storage::EventLog* log) : log_(log) {}

  // Startup: loads the checkpoint (if any and readable) and the API keys. Returns the global seq
  // the checkpoint covers (0 without one); fold the events after it with apply().
  uint64_t load(std::string* warning);
  // Folds one committed event (commit order). One writer at a time.
  void apply(const storage::Stored& s);
  // Writes the snapshots of what ended since the last call.
  void flush_snapshots();
  // Folds a batch, writes the snapshots of what ended, and notifies subscribers.
  void apply_committed(const std::vector<const storage::Stored*>& batch);
  // Writes a checkpoint of the live part if `force` or enough events passed since the last.
  void maybe_checkpoint(bool force);

  std::optional<session::State> session(const std::string& id) const;
  // `members` false: fleet::header_of the fleet (no member lists copied).
  std::optional<fleet::State> fleet(const std::string& id, bool members = true) const;

  struct Page {
    std::vector<session::State> sessions;
    uint64_t next_cursor = 0;  // 0: no more
  };
  // An org's sessions in creation order after `cursor`, filtered, at most `limit`. Scans at most
  // a bounded number of index entries per call (a sparse filter may return a short page with a
  // cursor to continue).
  Page list_sessions(const std::string& org, const std::string& fleet_id, const std::string& phase,
                     uint64_t cursor, size_t limit) const;
  std::vector<fleet::State> list_fleets(const std::string& org) const;
  std::optional<api_keys::Key> key_by_hash(const std::string& hash_hex) const;
  // The key with id `key_id` (revoked or not), or nullopt.
  std::optional<api_keys::Key> key_by_id(const std::string& key_id) const;
  // The keys of `org`, revoked ones included (in key-id order).
  std::vector<api_keys::Key> keys_of_org(const std::string& org) const;
  // The keys stream's last seq (the expected seq of the next key event).
  uint64_t keys_last_seq() const;
  // Every session that is not torn down (for recovery), in creation order.
  std::vector<session::State> live_sessions() const;
  std::vector<fleet::State> live_fleets() const;

  // Live stream subscriptions. `fn` runs on the commit thread or a backend thread.
  uint64_t subscribe(const std::string& id, std::function<void(const StreamItem&)> fn);
  // A fleet's member phase changes: after each committed batch that changed a member of fleet
  // `id`, `fn` gets a kFleet delta (see StreamItem), then kEnd once the fleet's phase is final.
  uint64_t subscribe_fleet(const std::string& id, std::function<void(const StreamItem&)> fn);
  void unsubscribe(uint64_t sub);
  // A live output chunk (capped by the backend; `truncated`: the stream's cap was reached).
  void publish_output(const std::string& id, const std::string& stream, const std::string& data,
                      uint32_t turn, bool truncated = false);

  // Callers waiting for a session to settle (`?wait=S`); completed after the batch that
  // settles their session is folded (apply_committed).
  SessionWaiters& waiters() { return waiters_; }

  // Counters for /metrics (monotonic unless noted).
  struct Counters {
    std::map<std::string, uint64_t> phase_now;        // gauge: sessions per phase
    std::map<std::string, uint64_t> kills_by_reason;  // total
    std::map<std::string, uint64_t> egress_denied_by_org;
    uint64_t events = 0, sessions_created = 0, fleets_created = 0, turns = 0;
    uint64_t turn_ms_sum = 0, launch_ms_sum = 0, launches = 0;
    std::array<uint64_t, 12> launch_hist{};  // buckets: kBucketsMs, then +Inf
    std::array<uint64_t, 12> turn_hist{};
  };
  static constexpr std::array<double, 11> kBucketsMs = {1,   2,   5,   10,   25,  50,
                                                        100, 250, 500, 1000, 5000};
  Counters counters() const;
  size_t live_count() const;
  // Sessions of `org` created and not yet admitted (phase queued, including any not yet ended).
  uint64_t queued_in(const std::string& org) const;

  // Checkpoint every max(this, 2 × live sessions and fleet members) events, and at shutdown.
  static constexpr uint64_t kCheckpointEvery = 50'000;

 private:
  uint64_t checkpoint_interval() const;  // mu_ held
  void note_phase(const session::State* before, const session::State& after);
  bool fleet_subs_empty() const;
  // Sends each subscribed fleet one delta for the (fleet id, member index) changes of a batch.
  void publish_fleet_changes(const std::vector<std::pair<std::string, uint32_t>>& changes);
  // Loads an ended session or fleet (cache → snapshot → fold of its stream).
  // Whether stream `id` begins with an event of `kind`: a session's id asked for as a fleet
  // (or the reverse) is then not found, without parsing one kind's snapshot as the other.
  bool stream_starts_with(const std::string& id, events::Envelope::PayloadCase kind) const;
  std::optional<session::State> cold_session(const std::string& id) const;
  std::optional<fleet::State> cold_fleet(const std::string& id) const;

  storage::EventLog* log_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, session::State> sessions_;  // live
  std::unordered_map<std::string, uint64_t> created_gseq_;    // live sessions' creation order
  std::unordered_map<std::string, fleet::State> fleets_;      // with a live member
  std::unordered_map<std::string, size_t> fleet_live_;        // live members per fleet
  api_keys::State keys_;
  Counters counters_;
  std::unordered_map<std::string, uint64_t> queued_by_org_;  // gauge: phase queued, per org
  uint64_t applied_gseq_ = 0, checkpoint_gseq_ = 0;
  std::vector<std::pair<std::string, std::string>> pending_snapshots_;  // written after a batch
  // Set while apply_committed folds live commits (not during startup replay): only then are
  // lifecycle log lines written and fleet member changes collected.
  bool live_ = false;
  std::vector<std::string> pending_log_;                         // lifecycle lines of this batch
  std::vector<std::pair<std::string, uint32_t>> fleet_changes_;  // (fleet id, member index)

  mutable EndedCache ended_;  // ended work recently read or ended (bounded LRU)

  SessionWaiters waiters_;

  mutable std::mutex sub_mu_;
  uint64_t next_sub_ = 1;
  std::unordered_map<uint64_t, std::pair<std::string, std::function<void(const StreamItem&)>>>
      subs_;
  std::unordered_multimap<std::string, uint64_t> subs_by_stream_;
  std::unordered_multimap<std::string, uint64_t> fleet_subs_;  // fleet id → subscription
};

}  // namespace enclave
