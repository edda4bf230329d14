// Group commit: callers submit appends from any thread; one writer thread takes everything
// pending, writes it as ONE fsynced RocksDB batch, and hands the result to a publisher thread,
// which runs `on_commit` and then each submission's callback (acknowledged = durable). The
// writer goes on with the next batch meanwhile, so writing and publishing use two cores.
// Submissions are committed, and batches published, in the order they arrive.
// A refused or failed write is an error value for every submission of its batch (the log says
// why: "log_unavailable"); the writer goes on. While the log is unwritable the writer probes it
// every kProbeEvery, so it becomes writable again by itself once the disk has room.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/event_log.h"

namespace enclave::storage {

class CommitQueue {
 public:
  using Done = std::function<void(Result<std::vector<Stored>>)>;
  // Runs on the publisher thread after each durable batch, before its callbacks (e.g. to update
  // a projection), with every event of the batch in commit order; batches in commit order.
  using OnCommit = std::function<void(const std::vector<const Stored*>&)>;

  // `max_batch`: at most this many submissions per write.
  CommitQueue(EventLog& log, OnCommit on_commit, size_t max_batch = 4096, bool sync = true);
  // Commits and publishes what is pending, then stops both threads.
  ~CommitQueue();

  void submit(std::vector<Append> appends, Done done);

  // While the log is unwritable, how often the writer re-checks it (EventLog::probe_writable).
  static constexpr std::chrono::milliseconds kProbeEvery{1000};

  uint64_t batches() const { return batches_; }
  uint64_t submissions() const { return submissions_; }

  // Append latency as callers see it: submit() to durable (queueing + write + fsync), per
  // submission. `buckets[i]` counts latencies ≤ kLatencyBucketsUs[i] µs; the last counts the rest.
  static constexpr std::array<uint64_t, 11> kLatencyBucketsUs = {
      100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000};
  struct Latency {
    std::array<uint64_t, 12> buckets{};
    uint64_t sum_us = 0;
  };
  Latency latency() const;

 private:
  void run();
  void publish();

  struct Batch {
    std::vector<Done> dones;
    std::vector<Result<std::vector<Stored>>> results;
  };

  EventLog& log_;
  OnCommit on_commit_;
  size_t max_batch_;
  bool sync_;
  std::mutex mu_;
  std::condition_variable cv_;
  struct Pending {
    std::vector<Append> appends;
    Done done;
    std::chrono::steady_clock::time_point submitted;
  };
  std::deque<Pending> pending_;
  mutable std::mutex latency_mu_;
  Latency latency_;
  bool stopping_ = false;
  std::atomic<uint64_t> batches_{0}, submissions_{0};
  std::mutex pub_mu_;
  std::condition_variable pub_cv_;
  std::deque<Batch> published_;  // written, not yet published
  bool writer_done_ = false;
  std::thread writer_, publisher_;
};

}  // namespace enclave::storage
