#include "storage/commit_queue.h"

namespace enclave::storage {

CommitQueue::CommitQueue(EventLog& log, OnCommit on_commit, size_t max_batch, bool sync)
    : log_(log), on_commit_(std::move(on_commit)), max_batch_(max_batch), sync_(sync) {
  publisher_ = std::thread([this] { publish(); });
  writer_ = std::thread([this] { run(); });
}

CommitQueue::~CommitQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  writer_.join();
  {
    std::lock_guard lock(pub_mu_);
    writer_done_ = true;
  }
  pub_cv_.notify_all();
  publisher_.join();
}

void CommitQueue::submit(std::vector<Append> appends, Done done) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back({std::move(appends), std::move(done), std::chrono::steady_clock::now()});
  }
  cv_.notify_one();
}

void CommitQueue::run() {
  for (;;) {
    std::vector<Pending> work;
    {
      std::unique_lock lock(mu_);
      auto ready = [&] { return stopping_ || !pending_.empty(); };
      if (log_.writable()) {
        cv_.wait(lock, ready);
      } else if (!cv_.wait_for(lock, kProbeEvery, ready)) {
        lock.unlock();
        (void)log_.probe_writable();  // nothing to write: see whether appends may go on
        continue;
      }
      if (pending_.empty() && stopping_) return;
      while (!pending_.empty() && work.size() < max_batch_) {
        work.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    std::vector<std::vector<Append>> group;
    group.reserve(work.size());
    for (auto& w : work) group.push_back(std::move(w.appends));
    Batch batch;
    batch.results = log_.append_group(group, sync_);
    batches_++;
    submissions_ += work.size();
    {
      auto now = std::chrono::steady_clock::now();
      std::lock_guard lock(latency_mu_);
      for (const auto& w : work) {
        auto us = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - w.submitted).count());
        size_t b = 0;
        while (b < kLatencyBucketsUs.size() && us > kLatencyBucketsUs[b]) ++b;
        latency_.buckets[b]++;
        latency_.sum_us += us;
      }
    }
    batch.dones.reserve(work.size());
    for (auto& w : work) batch.dones.push_back(std::move(w.done));
    {
      std::lock_guard lock(pub_mu_);
      published_.push_back(std::move(batch));
    }
    pub_cv_.notify_one();
  }
}

void CommitQueue::publish() {
  for (;;) {
    Batch b;
    {
      std::unique_lock lock(pub_mu_);
      pub_cv_.wait(lock, [&] { return writer_done_ || !published_.empty(); });
      if (published_.empty()) return;  // and the writer is done
      b = std::move(published_.front());
      published_.pop_front();
    }
    if (on_commit_) {
      std::vector<const Stored*> all;
      for (auto& r : b.results)
        if (r)
          for (auto& s : r.value()) all.push_back(&s);
      if (!all.empty()) on_commit_(all);
    }
    for (size_t i = 0; i < b.dones.size(); ++i)
      if (b.dones[i]) b.dones[i](std::move(b.results[i]));
  }
}

CommitQueue::Latency CommitQueue::latency() const {
  std::lock_guard lock(latency_mu_);
  return latency_;
}

}  // namespace enclave::storage
