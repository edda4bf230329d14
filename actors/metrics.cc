#include "actors/metrics.h"

#include <sstream>

namespace enclave {

namespace {

// One histogram: `bounds` are the buckets' upper bounds in the unit of `scale` (1000 for ms,
// 1e6 for µs); `hist` has one more count (+Inf) than `bounds`; `sum` is in the same unit.
template <size_t N, typename T>
void histogram(std::ostringstream& o, const std::string& name, const std::string& help,
               const std::array<T, N>& bounds, const std::array<uint64_t, N + 1>& hist,
               uint64_t sum, double scale) {
  o << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
  uint64_t cum = 0;
  for (size_t i = 0; i < N; ++i) {
    cum += hist[i];
    o << name << "_bucket{le=\"" << static_cast<double>(bounds[i]) / scale << "\"} " << cum << "\n";
  }
  cum += hist[N];
  o << name << "_bucket{le=\"+Inf\"} " << cum << "\n";
  o << name << "_sum " << static_cast<double>(sum) / scale << "\n"
    << name << "_count " << cum << "\n";
}

}  // namespace

std::string render_metrics(const MetricsInputs& in) {
  const auto& c = in.counters;
  std::ostringstream o;
  o << "# HELP enclave_sessions Sessions by current phase.\n# TYPE enclave_sessions gauge\n";
  for (const char* p : {"queued", "starting", "running", "succeeded", "failed", "killed"}) {
    auto it = c.phase_now.find(p);
    o << "enclave_sessions{phase=\"" << p << "\"} " << (it == c.phase_now.end() ? 0 : it->second)
      << "\n";
  }
  o << "# HELP enclave_sessions_created_total Sessions created.\n"
    << "# TYPE enclave_sessions_created_total counter\n"
    << "enclave_sessions_created_total " << c.sessions_created << "\n";
  o << "# HELP enclave_fleets_created_total Fleets created.\n"
    << "# TYPE enclave_fleets_created_total counter\n"
    << "enclave_fleets_created_total " << c.fleets_created << "\n";
  o << "# HELP enclave_session_kills_total Sessions ended by the control plane, by reason.\n"
    << "# TYPE enclave_session_kills_total counter\n";
  for (const auto& [r, n] : c.kills_by_reason)
    o << "enclave_session_kills_total{reason=\"" << r << "\"} " << n << "\n";
  // One total, never per org: /metrics is read by scrapers that hold no tenant's key, and an
  // org id (or its activity) is the tenant's own business.
  uint64_t egress_denied = 0;
  for (const auto& [org, n] : c.egress_denied_by_org) egress_denied += n;
  o << "# HELP enclave_egress_denied_total Denied connection attempts (all orgs).\n"
    << "# TYPE enclave_egress_denied_total counter\n"
    << "enclave_egress_denied_total " << egress_denied << "\n";
  auto phase = [&](const char* p) {
    auto it = c.phase_now.find(p);
    return it == c.phase_now.end() ? 0 : it->second;
  };
  o << "# HELP enclave_admission_queue_depth Sessions waiting for a slot.\n"
    << "# TYPE enclave_admission_queue_depth gauge\n"
    << "enclave_admission_queue_depth " << phase("queued") << "\n";
  o << "# HELP enclave_admission_ceiling Sandboxes allowed to start or run at once.\n"
    << "# TYPE enclave_admission_ceiling gauge\n"
    << "enclave_admission_ceiling " << in.max_concurrency << "\n";
  o << "# HELP enclave_active_sandboxes Sandboxes starting or running.\n"
    << "# TYPE enclave_active_sandboxes gauge\n"
    << "enclave_active_sandboxes " << phase("starting") + phase("running") << "\n";
  o << "# HELP enclave_live_actors Session and fleet actors alive.\n"
    << "# TYPE enclave_live_actors gauge\n"
    << "enclave_live_actors " << in.live_actors << "\n";
  o << "# HELP enclave_session_waiters Calls waiting (?wait=S) for a session to end.\n"
    << "# TYPE enclave_session_waiters gauge\n"
    << "enclave_session_waiters " << in.waiters << "\n";
  o << "# HELP enclave_turns_total Interactive turns run.\n# TYPE enclave_turns_total counter\n"
    << "enclave_turns_total " << c.turns << "\n";
  histogram(o, "enclave_launch_seconds", "Admission to sandbox started.", ReadModel::kBucketsMs,
            c.launch_hist, c.launch_ms_sum, 1000.0);
  histogram(o, "enclave_turn_seconds", "Interactive turn duration.", ReadModel::kBucketsMs,
            c.turn_hist, c.turn_ms_sum, 1000.0);
  histogram(o, "enclave_log_append_seconds",
            "Event-log append latency: submitted to durable (group commit, fsync), per append.",
            storage::CommitQueue::kLatencyBucketsUs, in.log_latency.buckets, in.log_latency.sum_us,
            1e6);
  o << "# HELP enclave_log_events_total Events in the log.\n"
    << "# TYPE enclave_log_events_total counter\n"
    << "enclave_log_events_total " << c.events << "\n";
  o << "# HELP enclave_log_appended_bytes_total Bytes appended since start.\n"
    << "# TYPE enclave_log_appended_bytes_total counter\n"
    << "enclave_log_appended_bytes_total " << in.log_bytes << "\n";
  o << "# HELP enclave_log_commit_batches_total Fsynced group commits since start.\n"
    << "# TYPE enclave_log_commit_batches_total counter\n"
    << "enclave_log_commit_batches_total " << in.log_batches << "\n";
  o << "# HELP enclave_log_appends_total Appends acknowledged since start.\n"
    << "# TYPE enclave_log_appends_total counter\n"
    << "enclave_log_appends_total " << in.log_submissions << "\n";
  o << "# HELP enclave_pool_idle_sandboxes Warm-pool sandboxes started ahead and idle.\n"
    << "# TYPE enclave_pool_idle_sandboxes gauge\n"
    << "enclave_pool_idle_sandboxes " << in.pool_idle << "\n";
  o << "# HELP enclave_backend_info The sandbox backend.\n# TYPE enclave_backend_info gauge\n"
    << "enclave_backend_info{backend=\"" << in.backend << "\"} 1\n";
  return o.str();
}

}  // namespace enclave
