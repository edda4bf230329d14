// What the sandbox hears from its kernel and its proxy: result-channel frames (turn output,
// rich results, results), denied and allowed egress, and live output. Split from sandbox.cc.
#include <algorithm>
#include <cstring>

#include "backends/gvisor/sandbox.h"
#include "backends/gvisor/sandbox_util.h"

namespace enclave::backends::gvisor {
namespace {
constexpr int kMaxDeniedReports = 256;  // per sandbox
}  // namespace

void Sandbox::handle_frame(const ChannelFrame& f) {
  switch (f.kind) {
    case 'R':
      if (turn_) {
        turn_->json = f.payload;
      } else {
        result_json_ = f.payload;
      }
      break;
    case 'M':  // a rich result of the running turn: "type\nmain\ndata" (issue 21)
      if (turn_) add_rich_result(f.payload);
      break;
    case 'O':
      if (turn_) turn_->out = f.payload.substr(0, host_->config.output_cap_bytes);
      break;
    case 'E':
      if (turn_) turn_->err = f.payload.substr(0, host_->config.output_cap_bytes);
      break;
    case 'o':  // live chunks of the running turn's output, for watchers (capped: may be forged)
    case 'e':
      if (turn_) emit_live(f.kind == 'o' ? "stdout" : "stderr", f.payload);
      break;
    case 'X':
      report_early_exit(f.payload);
      break;
    case 'P':
      if (ckpt_ && !ckpt_->restoring) do_checkpoint();
      break;
    case 'S':
      if (ckpt_ && ckpt_->restoring) {  // restored in place after a snapshot: runs on
        ckpt_->result.running = true;
        auto done = std::move(ckpt_->result);
        ckpt_.reset();
        emit(std::move(done));
        break;
      }
      if (reattaching_) {  // adopted after a restart: the kernel is back on a new channel
        reattaching_ = false;
        deadline_.reset();
        // Its cgroup's whole CPU (boot included: never less than the previous process saw).
        cpu_metering_ = true;
        cpu_ns_at_ready_ = 0;
        next_cpu_sample_ =
            Clock::now() + std::chrono::milliseconds(host_->config.cpu_sample_interval_ms);
        break;
      }
      if (!started_reported_) {
        started_reported_ = true;
        deadline_.reset();  // setup finished; turns carry their own timeouts
        // The session's CPU meter starts here: boot and setup are not the turns' budget.
        cpu_metering_ = true;
        cpu_ns_at_ready_ = cgroup_.cpu_ns();
        next_cpu_sample_ =
            Clock::now() + std::chrono::milliseconds(host_->config.cpu_sample_interval_ms);
        emit(Started{container_id_});
      }
      break;
    case 'D': {
      // May be forged by the workload (it shares the runner's process): it can end the turn's
      // reply early, nothing more. The duration is our own wall view (the frame's is ignored)
      // and the CPU meter goes on sampling the cgroup after it (sample_cpu).
      unsigned turn = 0;
      int rc = 0;
      unsigned long long claimed_ms = 0;
      if (turn_ && std::sscanf(f.payload.c_str(), "%u %d %llu", &turn, &rc, &claimed_ms) == 3 &&
          turn == turn_->turn) {
        const uint64_t wall = ms_between(turn_->started, Clock::now());
        // After an interrupt: timed out, but stopped in time (the kernel lives).
        const bool interrupted = turn_->interrupted;
        finish_turn(interrupted, rc, wall, interrupted);
      }
      break;
    }
    default:
      break;
  }
}

void Sandbox::add_rich_result(const std::string& payload) {
  // Hostile input (the workload can forge frames): the type must be one we know, the results of
  // a turn are at most kMaxRichResults and, together, at most the output cap.
  constexpr size_t kMaxRichResults = 32;
  const auto nl1 = payload.find('\n');
  const auto nl2 = nl1 == std::string::npos ? nl1 : payload.find('\n', nl1 + 1);
  if (nl2 == std::string::npos || turn_->results.size() >= kMaxRichResults) return;
  const std::string type = payload.substr(0, nl1);
  if (type != "text/plain" && type != "text/html" && type != "image/png" &&
      type != "application/json")
    return;
  const size_t size = payload.size() - nl2 - 1;
  if (turn_->results_bytes + size > host_->config.output_cap_bytes) return;
  turn_->results_bytes += size;
  events::RichResult r;
  r.set_type(type);
  r.set_is_main_result(payload.compare(nl1 + 1, nl2 - nl1 - 1, "1") == 0);
  r.set_data(payload.substr(nl2 + 1));
  turn_->results.push_back(std::move(r));
}

void Sandbox::report_denied(ConnectAttempt a) {
  // Bounded: a workload retrying connect() in a loop must not flood the event log.
  if (denied_reported_ >= kMaxDeniedReports) return;
  ++denied_reported_;
  if (a.reason.empty()) a.reason = std::string(egress::kNotAllowed);
  // The trace sink sees raw sockaddrs: the host it reports is the address.
  if (a.ip.empty() && egress::parse_ip(a.host)) a.ip = a.host;
  emit(EgressDenied{std::move(a.host), a.port, std::move(a.ip), std::move(a.reason)});
}

void Sandbox::report_egress() {
  std::deque<ConnectAttempt> reports;
  {
    std::lock_guard lock(mu_);
    reports.swap(egress_reports_);
  }
  std::deque<secrets::Use> uses;
  {
    std::lock_guard lock(mu_);
    uses.swap(secret_uses_);
  }
  // Bounded by the proxy's rate limit: one per secret, host and second.
  for (auto& u : uses) {
    events::SecretUsed e;
    e.set_name(u.name);
    e.set_host(u.host);
    e.set_port(u.port);
    e.set_method(u.method.substr(0, 32));
    e.set_path(u.path);
    e.set_count(u.count);
    emit(SecretUsed{std::move(e)});
  }
  // Bounded by the proxy: at most Policy::max_connections are ever allowed per sandbox.
  for (auto& a : reports) {
    if (a.allowed)
      emit(EgressAllowed{std::move(a.host), a.port, std::move(a.ip)});
    else
      report_denied(std::move(a));
  }
}

void Sandbox::read_stream(int* fd, CappedStream* stream, const char* name) {
  char buf[65536];
  for (int i = 0; i < 16; ++i) {  // bounded work per wake-up; poll brings us back
    ssize_t n = ::read(*fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close_fd(fd);
      return;
    }
    if (exit_reported_) continue;  // after an early Exited: drained, not reported
    const bool was_truncated = stream->truncated();
    std::string kept = stream->append(buf, static_cast<size_t>(n));
    if (!kept.empty()) emit_live(name, kept);
    // The stored stream is full: watchers are told once that the rest is dropped.
    if (kept.size() < static_cast<size_t>(n) && !was_truncated && !live_.truncated(name))
      emit(Output{name, "", turn_ ? turn_->turn : 0, true});
  }
}

void Sandbox::emit_live(const std::string& stream, const std::string& data) {
  for (auto& o : live_.admit(stream, data, turn_ ? turn_->turn : 0)) emit(std::move(o));
}

}  // namespace enclave::backends::gvisor
