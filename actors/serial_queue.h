#pragma once
// One asynchronous operation at a time, in arrival order. An operation is a function given a
// `finished` callback; the next queued operation starts only after the running one has called
// it. Used where a read-check-append must not interleave with another (the key and secret
// services: a quota check and the append it guards).
//
// Contract: each operation calls `finished` exactly once, from any thread; the next operation
// then runs on that thread, inside the call. Thread-safe; never blocks beyond a short lock.

#include <deque>
#include <functional>
#include <mutex>
#include <utility>

namespace enclave {

class SerialQueue {
 public:
  using Finished = std::function<void()>;
  using Op = std::function<void(Finished finished)>;

  // Runs `op` now if nothing is running, else after every operation queued before it.
  void run(Op op) {
    {
      std::lock_guard lock(mu_);
      if (busy_) {
        waiting_.push_back(std::move(op));
        return;
      }
      busy_ = true;
    }
    start(std::move(op));
  }

 private:
  void start(Op op) {
    op([this] {
      Op next;
      {
        std::lock_guard lock(mu_);
        if (waiting_.empty()) {
          busy_ = false;
          return;
        }
        next = std::move(waiting_.front());
        waiting_.pop_front();
      }
      start(std::move(next));
    });
  }

  std::mutex mu_;
  bool busy_ = false;
  std::deque<Op> waiting_;
};

}  // namespace enclave
