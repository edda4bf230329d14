// Prometheus text exposition of the engine's state (pure: inputs in, text out). Names follow
// Prometheus conventions; labels are bounded (phases, kill reasons, orgs — never session ids).
#pragma once

#include <string>

#include "actors/read_model.h"

namespace enclave {

struct MetricsInputs {
  ReadModel::Counters counters;
  uint32_t max_concurrency = 0;
  size_t live_actors = 0;
  uint64_t log_bytes = 0, log_batches = 0, log_submissions = 0;
  std::string backend;
};

std::string render_metrics(const MetricsInputs& in);

}  // namespace enclave
