#include "actors/replica.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace enclave {

const char* role_name(Role r) {
  switch (r) {
    case Role::kLeader:
      return "leader";
    case Role::kStandby:
      return "standby";
    case Role::kStopped:
      return "stopped";
  }
  return "stopped";
}

Replica::Replica(storage::Lease& lease, ReplicaOptions options, ReplicaHooks hooks)
    : lease_(lease), options_(std::move(options)), hooks_(std::move(hooks)) {
  if (!options_.now_ms)
    options_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
}

Replica::~Replica() { stop(); }

void Replica::start() {
  loop_ = std::thread([this] { loop(); });
  watchdog_ = std::thread([this] { watchdog(); });
}

void Replica::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !loop_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  if (watchdog_.joinable()) watchdog_.join();
  if (takeover_.joinable()) takeover_.join();
  if (role_.exchange(Role::kStopped) == Role::kLeader) lease_.release(epoch_);
}

std::string Replica::leader_addr() const {
  std::lock_guard lock(mu_);
  return leader_addr_;
}

void Replica::step_down(const std::string& why) {
  if (role_.exchange(Role::kStopped) != Role::kLeader) return;
  spdlog::error("stepping down as leader of epoch {}: {}", epoch_.load(), why);
  if (hooks_.step_down) hooks_.step_down(why);
}

void Replica::round() {
  const int64_t every = options_.ttl_ms / 3;
  if (role_ == Role::kStandby) {
    if (now() < next_round_ms_) {
      if (hooks_.follow) hooks_.follow(std::min(options_.follow_poll_ms, next_round_ms_ - now()));
      return;
    }
    next_round_ms_ = now() + every;
    const int64_t sent = now();
    auto view = lease_.try_acquire();
    if (!view) {
      spdlog::warn("lease: {}", view.error().message);
      return;
    }
    {
      std::lock_guard lock(mu_);
      leader_addr_ = view->live ? view->addr : "";
    }
    if (!view->mine) {
      // Try again when the lease runs out (store clock), if sooner than the next round.
      next_round_ms_ = now() + std::clamp<int64_t>(view->remaining_ms + 20, 20, every);
      return;
    }
    // Ours: lead from here. The store refuses other epochs' appends from now on.
    epoch_ = view->epoch;
    renew_sent_ms_ = sent;
    role_ = Role::kLeader;
    spdlog::info("lease taken: leader of epoch {}", view->epoch);
    // Taking over (catch up, recover) runs beside the loop, which goes on renewing meanwhile.
    takeover_ = std::thread([this, epoch = view->epoch] {
      auto took = hooks_.take_over ? hooks_.take_over(epoch) : Result<bool>(true);
      if (!took) {
        lease_.release(epoch);
        step_down("taking over failed: " + took.error().message);
      }
    });
    return;
  }
  if (role_ != Role::kLeader || now() < next_round_ms_) return;
  const int64_t sent = now();
  auto renewed = lease_.renew(epoch_);
  if (!renewed) {  // the store is out of reach: retry soon; check_fence() bounds how long
    spdlog::warn("lease renewal failed: {}", renewed.error().message);
    next_round_ms_ = now() + std::min<int64_t>(every, 250);
    return;
  }
  if (!*renewed)
    return step_down("the lease of epoch " + std::to_string(epoch_) +
                     " was taken over by another replica");
  renew_sent_ms_ = sent;
  next_round_ms_ = sent + every;
}

bool Replica::check_fence() {
  if (role_ != Role::kLeader) return false;
  if (now() < self_fence_at(renew_sent_ms_, options_.ttl_ms, options_.margin_ms)) return false;
  step_down("no lease renewal succeeded for " +
            std::to_string(options_.ttl_ms - options_.margin_ms) +
            " ms; stopping before the lease can expire");
  return true;
}

void Replica::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
      // A standby's round waits in follow(); a leader's waits here until its renewal is due.
      if (role_ != Role::kStandby)
        cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(
                               1, std::min<int64_t>(50, next_round_ms_ - now()))));
      if (stopping_) return;
    }
    if (role_ == Role::kStopped) continue;
    round();
  }
}

void Replica::watchdog() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(50));
    lock.unlock();
    (void)check_fence();
    lock.lock();
  }
}

}  // namespace enclave
