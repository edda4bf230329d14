// One replica of a replicated control plane (--ha, docs/HA.md): standby or leader, decided by the
// log's lease (storage/lease.h).
//   standby: follows the log (hooks.follow) and tries to take the lease every TTL/3;
//   leader:  renews every TTL/3. A renewal that finds the epoch moved steps down at once; one
//            that cannot reach the store is retried, and if none succeeds the leader steps down
//            on its own at (last good renewal sent) + TTL − margin, before any standby can take
//            the lease (the store's clock starts the TTL no earlier than the renewal was sent).
// Time comes from `now_ms` (monotonic; tests inject a manual one and drive round() and
// check_fence() themselves instead of start()).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "storage/lease.h"

namespace enclave {

enum class Role { kStandby, kLeader, kStopped };
const char* role_name(Role r);

// When a leader must stop acting: its last good renewal was sent at `renew_sent_ms`.
constexpr int64_t self_fence_at(int64_t renew_sent_ms, int64_t ttl_ms, int64_t margin_ms) {
  return renew_sent_ms + ttl_ms - margin_ms;
}

struct ReplicaOptions {
  int64_t ttl_ms = 6000;
  int64_t margin_ms = 1000;         // how long before the TTL a cut-off leader stops
  std::function<int64_t()> now_ms;  // monotonic milliseconds; default: steady_clock
  int64_t follow_poll_ms = 200;     // a standby's longest wait for news of a commit
};

struct ReplicaHooks {
  // Standby: brings the local copy up to date, waiting at most `max_wait_ms` for a commit.
  std::function<void(int64_t max_wait_ms)> follow;
  // Took the lease with `epoch`: catch up and start leading (open the engine, recover). Runs on
  // its own thread while the lease is renewed. An error gives the lease back and steps down.
  std::function<Result<bool>(uint64_t epoch)> take_over;
  // The leader must stop acting now (the lease was taken over, or could not be renewed in
  // time). Called at most once.
  std::function<void(const std::string& why)> step_down;
};

class Replica {
 public:
  Replica(storage::Lease& lease, ReplicaOptions options, ReplicaHooks hooks);
  ~Replica();
  // Runs the role loop and the self-fencing watchdog on their own threads.
  void start();
  // Stops both threads; a leader releases its lease so a standby takes over at once.
  void stop();

  // One turn of the role loop: standby → follow, and try to take the lease when due; leader →
  // renew when due. Exposed for tests.
  void round();
  // Leader past self_fence_at(): steps down. Whether it did. Exposed for tests.
  bool check_fence();

  Role role() const { return role_.load(); }
  uint64_t epoch() const { return epoch_.load(); }
  // The leader's advertised address as last seen ("" unknown).
  std::string leader_addr() const;

 private:
  void loop();
  void watchdog();
  void step_down(const std::string& why);
  int64_t now() const { return options_.now_ms(); }

  storage::Lease& lease_;
  ReplicaOptions options_;
  ReplicaHooks hooks_;
  std::atomic<Role> role_{Role::kStandby};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int64_t> renew_sent_ms_{0};  // of the last good take or renewal
  int64_t next_round_ms_ = 0;              // loop thread only
  mutable std::mutex mu_;
  std::string leader_addr_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread loop_, watchdog_, takeover_;
};

}  // namespace enclave
