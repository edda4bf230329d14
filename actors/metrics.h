// Prometheus text exposition of the engine's state (pure: inputs in, text out). Names follow
// Prometheus conventions; labels are bounded (phases, kill reasons) and never name an org or a
// session: /metrics may be read by a scraper holding no tenant's key.
#pragma once

#include <string>

#include "actors/read_model.h"
#include "storage/commit_queue.h"

namespace enclave {

struct MetricsInputs {
  ReadModel::Counters counters;
  uint32_t max_concurrency = 0;
  size_t live_actors = 0;
  size_t waiters = 0;  // callers in a `?wait=S` call, waiting for their session to end
  uint64_t log_bytes = 0, log_batches = 0, log_submissions = 0;
  storage::CommitQueue::Latency log_latency;  // submit → durable, per append
  size_t pool_idle = 0;                       // the backend's warm pool, idle sandboxes
  std::string backend;
};

// The Prometheus text exposition (version 0.0.4) of `in`.
std::string render_metrics(const MetricsInputs& in);

}  // namespace enclave
