#include "backends/simulator/simulator.h"

#include <openssl/sha.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <queue>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "backends/simulator/sim_script.h"
#include "events/codec/sha256.h"
#include "events/policy/egress_policy.h"

namespace enclave::backends {

namespace {

using SteadyMs = int64_t;
SteadyMs steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

enum class Step { kStart, kExit, kTurn };

struct Timer {
  SteadyMs due;
  uint64_t order;  // FIFO among equal due times: deterministic
  std::string id;
  Step step;
  uint64_t generation;  // stale timers (after a kill) are ignored
  bool operator>(const Timer& o) const { return due != o.due ? due > o.due : order > o.order; }
};

struct Sandbox {
  events::SessionSpec spec;
  sim::Script script;
  SteadyMs started = 0;
  uint64_t generation = 0;
  bool running = false;
  // the turn being run
  uint32_t turn = 0;
  std::string turn_code;
  int64_t turn_timeout_ms = 0;
  SteadyMs turn_started = 0;
  uint64_t turn_ms_total = 0;
};

class Simulator final : public Backend {
 public:
  Simulator(SimulatorConfig cfg, Sink sink) : cfg_(cfg), sink_(std::move(sink)) {
    worker_ = std::thread([this] { run(); });
  }
  ~Simulator() override { shutdown(); }

  std::string name() const override { return "simulator"; }

  void launch(const LaunchSpec& l) override {
    std::lock_guard lock(mu_);
    auto& sb = boxes_[l.session_id];
    sb.spec = l.spec;
    sb.script = sim::parse(l.spec.code());
    sb.generation = ++generation_;
    schedule(l.session_id, Step::kStart, 0, sb.generation);
  }

  void exec_turn(const std::string& id, uint32_t turn, const std::string& code,
                 int64_t timeout_ms) override {
    std::lock_guard lock(mu_);
    auto it = boxes_.find(id);
    if (it == boxes_.end() || !it->second.running) {
      events::ExecTurn t;
      t.set_turn(turn);
      t.set_timed_out(true);
      emit_later(id, TurnDone{t});
      return;
    }
    auto& sb = it->second;
    sb.turn = turn;
    sb.turn_code = code;
    sb.turn_timeout_ms = timeout_ms;
    sb.turn_started = steady_ms();
    auto script = sim::parse(code);
    int64_t ms = script.hang ? timeout_ms : script.sleep_ms.value_or(cfg_.tick_ms);
    schedule(id, Step::kTurn, std::min(ms, timeout_ms), sb.generation);
  }

  void kill(const std::string& id, const std::string& reason) override {
    std::unique_lock lock(mu_);
    auto it = boxes_.find(id);
    if (it == boxes_.end()) {
      if (auto lb = left_behind_.find(id); lb != left_behind_.end()) {
        emit_later(id, removal(id, &lb->second, "removal retried"));
        if (lb->second == 0) left_behind_.erase(lb);
        return;
      }
      emit_later(id, Removed{"no such sandbox"});
      return;
    }
    Sandbox sb = std::move(it->second);
    boxes_.erase(it);
    Exited x;
    x.exit.set_exit_code(137);
    x.exit.set_detail("killed: " + reason);
    x.usage.set_wall_ms(sb.started ? steady_ms() - sb.started : 0);
    x.usage.set_turn_ms_total(sb.turn_ms_total);
    emit_later(id, std::move(x));
    int left = sb.script.teardown_left;
    emit_later(id, removal(id, &left, "sandbox removed after kill"));
    if (left > 0) left_behind_[id] = left;
  }

  // Checkpoints: the image is a small text file (the session id and the turns it ran), so engine
  // tests exercise the whole path — image on disk, sha256 recorded, checked on restore.
  bool supports_checkpoint() const override { return true; }

  void checkpoint(const std::string& id, const std::string& dir, bool leave_running) override {
    std::lock_guard lock(mu_);
    Checkpointed c;
    c.image_dir = dir;
    auto it = boxes_.find(id);
    if (it == boxes_.end() || !it->second.running) {
      c.error = "no running sandbox for this session";
      emit_later(id, std::move(c));
      return;
    }
    const std::string image =
        "enclave-simulator-checkpoint\n" + id + "\n" + std::to_string(it->second.turn) + "\n";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::ofstream(dir + "/checkpoint.img", std::ios::binary | std::ios::trunc) << image;
    c.bytes = image.size();
    c.sha256 = sha256_hex(image);
    c.duration_ms = 1;
    c.running = leave_running;
    if (!leave_running) boxes_.erase(it);  // paused: gone, nothing more is reported
    emit_later(id, std::move(c));
  }

  void restore(const LaunchSpec& l, const std::string& dir, const std::string& sha256,
               uint64_t max_bytes) override {
    std::lock_guard lock(mu_);
    std::string refused;
    std::error_code ec;
    const auto size = std::filesystem::file_size(dir + "/checkpoint.img", ec);
    if (ec) {
      refused = "no image: " + ec.message();
    } else if (size > max_bytes) {
      refused = "image over the bound";
    } else {
      std::ifstream in(dir + "/checkpoint.img", std::ios::binary);
      std::stringstream buf;
      buf << in.rdbuf();
      if (sha256_hex(buf.str()) != sha256) refused = "sha256 differs from the recorded one";
    }
    if (!refused.empty()) {
      Exited x;
      x.exit.set_exit_code(-1);
      x.exit.set_detail("checkpoint image refused: " + refused);
      emit_later(l.session_id, std::move(x));
      emit_later(l.session_id, Removed{"nothing was created"});
      return;
    }
    auto& sb = boxes_[l.session_id];
    sb.spec = l.spec;
    sb.script = sim::Script{};
    sb.generation = ++generation_;
    schedule(l.session_id, Step::kStart, 0, sb.generation);
  }

  bool adopt(const std::string& id) override {
    std::lock_guard lock(mu_);
    return cfg_.support_adopt && boxes_.count(id) > 0;
  }

  std::vector<std::string> cleanup_orphans(const std::set<std::string>& keep) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> removed;
    for (auto it = boxes_.begin(); it != boxes_.end();) {
      if (keep.count(it->first)) {
        ++it;
      } else {
        removed.push_back("simulated sandbox " + it->first);
        it = boxes_.erase(it);
      }
    }
    return removed;
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

 private:
  // One removal attempt: while `*failures_left` > 0 it leaves a (simulated) cgroup behind and
  // counts down. Called with mu_ held.
  static Removed removal(const std::string& id, int* failures_left, const std::string& done) {
    if (*failures_left <= 0) return Removed{done, ""};
    --*failures_left;
    return Removed{"simulated teardown failure", "cgroups left: simulated /enclave/" + id};
  }

  // Called with mu_ held.
  void schedule(const std::string& id, Step step, int64_t after_ms, uint64_t generation) {
    timers_.push(Timer{steady_ms() + after_ms, ++order_, id, step, generation});
    cv_.notify_one();
  }
  // Events produced under the lock are queued and delivered by the worker, in order.
  void emit_later(const std::string& id, Event e) {
    outbox_.emplace_back(id, std::move(e));
    cv_.notify_one();
  }

  void fire(const Timer& t) {  // mu_ held
    auto it = boxes_.find(t.id);
    if (it == boxes_.end() || it->second.generation != t.generation) return;
    Sandbox& sb = it->second;
    const auto& sc = sb.script;
    switch (t.step) {
      case Step::kStart: {
        if (sc.start_fail) {
          Exited x;
          x.exit.set_exit_code(-1);
          x.exit.set_detail("simulated sandbox start failure");
          emit_later(t.id, std::move(x));
          emit_later(t.id, Removed{"never started"});
          boxes_.erase(it);
          return;
        }
        sb.running = true;
        sb.started = steady_ms();
        emit_later(t.id, Started{t.id});
        for (const auto& [host, port] : sc.egress) {
          bool allowed = false;
          for (const auto& a : sb.spec.egress().allow())
            allowed |=
                sb.spec.egress().mode() == "allow_list" && a == host + ":" + std::to_string(port);
          // The simulator resolves nothing: an IP literal is its own address, a name has none.
          const std::string ip = egress::parse_ip(host) ? host : "";
          if (allowed)
            emit_later(t.id, EgressAllowed{host, port, ip});
          else
            emit_later(t.id, EgressDenied{host, port, ip, std::string(egress::kNotAllowed)});
        }
        if (sb.spec.exec_mode() == events::EXEC_MODE_BATCH && !sc.hang)
          schedule(t.id, Step::kExit, sc.sleep_ms.value_or(cfg_.tick_ms), sb.generation);
        return;
      }
      case Step::kExit: {
        Exited x;
        if (!sc.stdout_text.empty()) emit_later(t.id, Output{"stdout", sc.stdout_text, 0});
        x.exit.set_exit_code(sc.oom ? 137 : sc.exit_code);
        if (sc.oom) x.exit.set_observed(events::KILL_REASON_MEMORY_EXCEEDED);
        x.exit.set_stdout(sc.stdout_text);
        x.exit.set_stderr(sc.stderr_text);
        x.exit.set_stdout_bytes(sc.stdout_text.size());
        x.exit.set_stderr_bytes(sc.stderr_text.size());
        x.exit.set_json(sc.result_json);
        x.usage.set_wall_ms(steady_ms() - sb.started);
        x.usage.set_cpu_ms(steady_ms() - sb.started);
        x.usage.set_peak_memory_bytes(sc.oom ? uint64_t(sb.spec.limits().memory_mb()) << 20
                                             : 8u << 20);
        emit_later(t.id, std::move(x));
        int left = sc.teardown_left;
        emit_later(t.id, removal(t.id, &left, "sandbox removed"));
        if (left > 0) left_behind_[t.id] = left;
        boxes_.erase(it);
        return;
      }
      case Step::kTurn: {
        auto ts = sim::parse(sb.turn_code);
        events::ExecTurn turn;
        turn.set_turn(sb.turn);
        turn.set_code_sha256(sha256_hex(sb.turn_code));
        uint64_t took = static_cast<uint64_t>(steady_ms() - sb.turn_started);
        turn.set_duration_ms(took);
        sb.turn_ms_total += std::max<uint64_t>(took, 1);
        if (ts.hang) {  // interrupted at its timeout: stops unless it ignores the interrupt
          turn.set_timed_out(true);
          if (!ts.ignore_interrupt) {
            turn.set_interrupted(true);
            turn.set_stderr("KeyboardInterrupt\n");
          }
        } else {
          if (!ts.stdout_text.empty()) emit_later(t.id, Output{"stdout", ts.stdout_text, sb.turn});
          turn.set_stdout(ts.stdout_text);
          turn.set_stderr(ts.stderr_text);
          turn.set_has_exit_code(true);
          turn.set_exit_code(ts.exit_code);
          turn.set_json(ts.result_json);
        }
        for (const auto& [host, port] : ts.egress)
          emit_later(t.id, EgressDenied{host, port, egress::parse_ip(host) ? host : "",
                                        std::string(egress::kNotAllowed)});
        emit_later(t.id, TurnDone{turn});
        if (ts.cpu_ms) emit_later(t.id, CpuUsage{*ts.cpu_ms});  // burnt after the reply
        return;
      }
    }
  }

  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      while (!outbox_.empty()) {
        auto out = std::move(outbox_);
        outbox_.clear();
        lock.unlock();
        for (auto& [id, ev] : out) sink_(id, std::move(ev));
        lock.lock();
      }
      if (stopping_) return;
      SteadyMs now = steady_ms();
      while (!timers_.empty() && timers_.top().due <= now) {
        Timer t = timers_.top();
        timers_.pop();
        fire(t);
      }
      if (!outbox_.empty()) continue;
      if (timers_.empty())
        cv_.wait(lock);
      else
        cv_.wait_for(lock, std::chrono::milliseconds(timers_.top().due - now));
    }
  }

  SimulatorConfig cfg_;
  Sink sink_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Sandbox> boxes_;
  std::unordered_map<std::string, int> left_behind_;  // removals that will still fail, by id
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::vector<std::pair<std::string, Event>> outbox_;
  uint64_t order_ = 0, generation_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace

std::unique_ptr<Backend> make_simulator(SimulatorConfig config, Sink sink) {
  return std::make_unique<Simulator>(config, std::move(sink));
}

}  // namespace enclave::backends
