// The gVisor backend against its baselines, side by side in one run (issue 3):
//   1. one-shot `pass` sandboxes/s through the backend (pool off) vs a bare `runsc run` loop,
//      same count and parallelism, on equal terms: the same interpreter flags as the backend's
//      runner (`python3 -I -S -B`) and the same cleanup (`delete --force` only when runsc left
//      state behind, exactly the backend's rule) (goal ratio ≥ 0.95);
//   2. an interactive session's first turn: from a warm-pool kernel vs a cold start;
//   3. a trivial turn through the backend vs the same kernel (runner.py) on the host over pipes,
//      no sandbox.
//   gvisor_bench [N=16] [P=2] [TURNS=200]   (root, runsc installed)
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "backends/gvisor/gvisor_backend.h"
#include "events/ids.h"

using namespace enclave;
using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double ms_since(Steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Collects backend events per session; waits are bounded.
struct Events {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::vector<backends::Event>> by_id;
  void push(const std::string& id, backends::Event e) {
    std::lock_guard l(mu);
    by_id[id].push_back(std::move(e));
    cv.notify_all();
  }
  // Waits for an event of type T for `id` (consumes it).
  template <typename T>
  bool wait(const std::string& id, T* out = nullptr, int seconds = 60) {
    std::unique_lock l(mu);
    return cv.wait_for(l, std::chrono::seconds(seconds), [&] {
      auto& v = by_id[id];
      for (auto it = v.begin(); it != v.end(); ++it)
        if (auto* t = std::get_if<T>(&*it)) {
          if (out) *out = *t;
          v.erase(it);
          return true;
        }
      return false;
    });
  }
};

events::SessionSpec spec(bool interactive, const std::string& code) {
  events::SessionSpec s;
  s.set_code(code);
  s.set_language("python");
  s.set_exec_mode(interactive ? events::EXEC_MODE_INTERACTIVE : events::EXEC_MODE_BATCH);
  s.mutable_egress()->set_mode("deny_all");
  auto* l = s.mutable_limits();
  l->set_memory_mb(256);
  l->set_cpu_millis(1000);
  l->set_pids(64);
  l->set_wall_clock_seconds(30);
  l->set_disk_mb(512);  // the default (events/requests/session_request.h): what pool kernels have
  return s;
}

backends::GvisorConfig config(const std::string& root, int pool) {
  backends::GvisorConfig c;
  c.state_dir = root + "/state";
  c.work_dir = root + "/work";
  c.cgroup_parent = "enclave-bench";
  c.warm_pool_size = pool;
  return c;
}

// A backend with its event collector.
struct Rig {
  Events ev;
  std::unique_ptr<backends::Backend> b;
  Rig(const std::string& root, int pool)
      : b(backends::make_gvisor_backend(
            config(root, pool),
            [this](const std::string& id, backends::Event e) { ev.push(id, std::move(e)); })) {}
  ~Rig() { b->shutdown(); }
};

// Runs job(i) for i in [0, n) on p worker threads; returns the completion rate per second.
double parallel_rate(int n, int p, const std::function<void(int)>& job) {
  std::atomic<int> next{0};
  auto t0 = Steady::now();
  std::vector<std::thread> ts;
  for (int w = 0; w < p; ++w)
    ts.emplace_back([&] {
      for (int i; (i = next++) < n;) job(i);
    });
  for (auto& t : ts) t.join();
  return n / (ms_since(t0) / 1000);
}

// Work that failed is not a figure: each part counts its failures, and main() prints INVALID
// instead of a number for a part that had any.
std::atomic<int> g_failures{0};
std::mutex g_fail_mu;
std::string g_first_failure;
void failed(const std::string& what) {
  if (g_failures++ == 0) {
    std::lock_guard l(g_fail_mu);
    g_first_failure = what;
  }
}

int run(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool state_left(const std::string& state_dir, const std::string& id) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state_dir, ec))
    if (e.path().filename().string().rfind(id, 0) == 0) return true;
  return static_cast<bool>(ec);
}

// Bare runsc: the check's own minimal bundle, `run`, then `delete --force` if runsc left state
// (the backend's rule), P at a time. Every run must exit 0.
double bare_runsc_rate(const std::string& dir, int n, int p) {
  fs::create_directories(dir + "/rootfs/usr");
  fs::create_directories(dir + "/state");
  for (const char* l : {"bin", "lib", "lib64", "sbin"})
    if (!fs::exists(dir + "/rootfs/" + l))
      fs::create_symlink(std::string("usr/") + l, dir + "/rootfs/" + l);
  std::ofstream(dir + "/config.json")
      << R"({"ociVersion":"1.0.2","process":{"args":["/usr/bin/python3","-I","-S","-B","-c","pass"],"env":["PATH=/usr/bin:/bin"],"cwd":"/",
 "user":{"uid":65534,"gid":65534},"noNewPrivileges":true},"root":{"path":"rootfs","readonly":true},
 "mounts":[{"destination":"/usr","type":"bind","source":"/usr","options":["rbind","ro"]}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]}})";
  return parallel_rate(n, p, [&](int i) {
    char id[40];
    std::snprintf(id, sizeof id, "b%031x", i);
    int rc = run({"/usr/bin/runsc", "--root=" + dir + "/state", "--network=none", "run",
                  "--bundle=" + dir, id});
    if (rc != 0) failed(std::string("bare runsc run ") + id + " exited " + std::to_string(rc));
    if (state_left(dir + "/state", id))
      run({"/usr/bin/runsc", "--root=" + dir + "/state", "--network=none", "delete", "--force",
           id});
  });
}

double backend_rate(const std::string& root, int n, int p) {
  Rig rig(root, 0);
  return parallel_rate(n, p, [&](int) {
    std::string id = to_hex(new_stream_id());
    rig.b->launch({id, spec(false, "pass")});
    backends::Exited x;
    backends::Removed rm;
    if (!rig.ev.wait<backends::Exited>(id, &x) || x.exit.exit_code() != 0)
      failed("backend one-shot " + id + " exit " + std::to_string(x.exit.exit_code()) + " " +
             x.exit.detail());
    if (!rig.ev.wait<backends::Removed>(id, &rm) || !rm.left.empty())
      failed("backend one-shot " + id + " not removed: " + rm.left);
  });
}

// First turn of an interactive session: launch → Started → TurnDone(1), ms, `samples` times.
std::vector<double> first_turn_ms(const std::string& root, int pool, int samples) {
  Rig rig(root, pool);
  auto& ev = rig.ev;
  auto& b = rig.b;
  std::vector<double> out;
  for (int i = 0; i < samples; ++i) {
    if (pool > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(600));  // let the pool refill
    std::string id = to_hex(new_stream_id());
    auto t0 = Steady::now();
    b->launch({id, spec(true, "")});
    if (!ev.wait<backends::Started>(id)) {
      failed("interactive " + id + " never started");
      continue;
    }
    b->exec_turn(id, 1, "x = 1", 10'000);
    backends::TurnDone d;
    if (ev.wait<backends::TurnDone>(id, &d) && d.turn.has_exit_code() && d.turn.exit_code() == 0)
      out.push_back(ms_since(t0));
    else
      failed("first turn of " + id + " failed: " + d.turn.stderr().substr(0, 200));
    b->kill(id, "bench");
    ev.wait<backends::Removed>(id);
  }
  return out;
}

std::vector<double> backend_turn_ms(const std::string& root, int turns) {
  Rig rig(root, 0);
  auto& ev = rig.ev;
  auto& b = rig.b;
  std::string id = to_hex(new_stream_id());
  b->launch({id, spec(true, "x = 0")});
  std::vector<double> out;
  if (!ev.wait<backends::Started>(id)) failed("turn session never started");
  if (g_failures == 0) {
    for (int t = 1; t <= turns; ++t) {
      auto t0 = Steady::now();
      b->exec_turn(id, t, "x += 1", 10'000);
      backends::TurnDone d;
      if (!ev.wait<backends::TurnDone>(id, &d) || !d.turn.has_exit_code() ||
          d.turn.exit_code() != 0) {
        failed("turn " + std::to_string(t) + " failed: " + d.turn.stderr().substr(0, 200));
        break;
      }
      out.push_back(ms_since(t0));
    }
  }
  b->kill(id, "bench");
  ev.wait<backends::Removed>(id);
  return out;
}

// The same kernel on the host: runner.py with its result socket moved to a temp dir, driven over
// pipes with the backend's framing (u32 length, kind, u32 turn, payload).
std::vector<double> raw_kernel_turn_ms(const std::string& dir, const std::string& runner,
                                       int turns) {
  fs::create_directories(dir);
  std::ifstream in(runner);
  std::stringstream src;
  src << in.rdbuf();
  std::string code = src.str();
  auto at = code.find("IO_DIR = \"/opt/enclave-io\"");
  if (at == std::string::npos) return {};
  code.replace(at, std::string("IO_DIR = \"/opt/enclave-io\"").size(), "IO_DIR = \"" + dir + "\"");
  std::ofstream(dir + "/runner.py") << code;
  int lsock = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir + "/channel.sock";
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  bind(lsock, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(lsock, 1);
  int to_kernel[2];
  if (pipe(to_kernel) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(to_kernel[0], 0);
    close(to_kernel[1]);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    execl("/usr/bin/python3", "python3", "-I", "-S", "-B", (dir + "/runner.py").c_str(), "kernel",
          "1048576", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_kernel[0]);
  int ch = accept(lsock, nullptr, nullptr);
  auto send_frame = [&](char kind, uint32_t turn, const std::string& payload) {
    std::string f;
    uint32_t len = static_cast<uint32_t>(payload.size());
    for (int i = 3; i >= 0; --i) f.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
    f.push_back(kind);
    for (int i = 3; i >= 0; --i) f.push_back(static_cast<char>((turn >> (8 * i)) & 0xff));
    f += payload;
    return write(to_kernel[1], f.data(), f.size()) == static_cast<ssize_t>(f.size());
  };
  auto read_exact = [&](std::string* out, size_t n) {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = read(ch, out->data() + got, n - got);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  };
  auto wait_kind = [&](char want) {  // frames: u32 length (kind + payload), kind, payload
    std::string head, body;
    for (;;) {
      if (!read_exact(&head, 4)) return false;
      uint32_t len = 0;
      for (unsigned char c : head) len = len << 8 | c;
      if (!read_exact(&body, len)) return false;
      if (body[0] == want) return true;
    }
  };
  std::vector<double> out;
  if (send_frame('A', 0, "{}") && wait_kind('S') && send_frame('T', 0, "x = 0") && wait_kind('D')) {
    for (int t = 1; t <= turns; ++t) {
      auto t0 = Steady::now();
      if (!send_frame('T', static_cast<uint32_t>(t), "x += 1") || !wait_kind('D')) break;
      out.push_back(ms_since(t0));
    }
  }
  close(to_kernel[1]);
  close(ch);
  close(lsock);
  int st = 0;
  waitpid(pid, &st, 0);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 16;
  int p = argc > 2 ? std::atoi(argv[2]) : 2;
  int turns = argc > 3 ? std::atoi(argv[3]) : 200;
  std::string runner = fs::path(ENCLAVE_SOURCE_DIR) / "backends/runner/runner.py";
  std::string root = "/tmp/enclave-gvbench-" + to_hex(new_stream_id()).substr(0, 8);
  if (!backends::probe_gvisor(config(root + "/probe", 0), false).ok) {
    std::fprintf(stderr, "gVisor is not usable here (needs root and runsc)\n");
    return 1;
  }
  int invalid = 0;
  // Prints `figure` only if the part's work all succeeded; else INVALID and what failed.
  auto report = [&](const char* part, const std::function<void()>& figure) {
    if (g_failures == 0) {
      figure();
    } else {
      ++invalid;
      std::printf("INVALID %s: %d failures, first: %s; no figure\n", part, g_failures.load(),
                  g_first_failure.c_str());
    }
    g_failures = 0;
  };
  double bare = 0, ours = 0;
  bare = bare_runsc_rate(root + "/bare", n, p);
  ours = backend_rate(root + "/tput", n, p);
  report("one-shots", [&] {
    std::printf(
        "one-shot sandboxes/s at P=%d, N=%d (both python3 -I -S -B, delete only if state is "
        "left, pool off): backend %.2f vs bare runsc %.2f -> ratio %.2f (goal >= 0.95)\n",
        p, n, ours, bare, bare > 0 ? ours / bare : 0);
  });
  auto warm = first_turn_ms(root + "/warm", 2, 8);
  auto cold = first_turn_ms(root + "/cold", 0, 8);
  report("first turn", [&] {
    std::printf(
        "interactive first turn (launch -> turn 1 done), p50 of %zu: warm pool %.1f ms vs "
        "cold start %.1f ms -> %.1fx faster\n",
        warm.size(), median(warm), median(cold),
        median(warm) > 0 ? median(cold) / median(warm) : 0);
  });
  auto ours_turn = backend_turn_ms(root + "/turns", turns);
  auto raw_turn = raw_kernel_turn_ms(root + "/raw", runner, turns);
  if (static_cast<int>(raw_turn.size()) != turns)
    failed("the host kernel answered only " + std::to_string(raw_turn.size()) + " turns");
  report("trivial turn", [&] {
    std::printf(
        "trivial turn, p50 of %zu: through the backend (gVisor) %.3f ms vs the same kernel "
        "on the host %.3f ms -> overhead %.3f ms\n",
        ours_turn.size(), median(ours_turn), median(raw_turn),
        median(ours_turn) - median(raw_turn));
  });
  fs::remove_all(root);
  return invalid ? 1 : 0;
}
