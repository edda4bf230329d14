// End-to-end tests of the gVisor backend against the real runsc (as root). Skipped with a
// message when runsc is unusable on this host.
#define BOOST_TEST_MODULE gvisor_backend
#include "backends/gvisor/gvisor_backend.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "backends/gvisor/process.h"

namespace eb = enclave::backends;
namespace ev = enclave::events;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Per test process, so that concurrent runs of this suite (ctest in two build dirs) never meet.
const std::string kWorkDir = "/tmp/enclave-gvt-" + std::to_string(::getpid());
const std::string kCgroupParent = "enclave-test-" + std::to_string(::getpid());

// Every event the backend reports, per session, in order; waits use a condvar, never sleeps.
class EventLog {
 public:
  void push(const std::string& sid, eb::Event e) {
    {
      std::lock_guard lock(mu_);
      queues_[sid].push_back({Clock::now(), std::move(e)});
    }
    cv_.notify_all();
  }

  struct Stamped {
    Clock::time_point at;
    eb::Event event;
  };

  // Pops events of `sid` until one holds T; the skipped ones are appended to `skipped`.
  template <class T>
  std::optional<T> next(const std::string& sid, std::chrono::milliseconds timeout,
                        std::vector<eb::Event>* skipped = nullptr,
                        Clock::time_point* at = nullptr) {
    std::unique_lock lock(mu_);
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      auto& q = queues_[sid];
      while (!q.empty()) {
        Stamped s = std::move(q.front());
        q.pop_front();
        if (auto* t = std::get_if<T>(&s.event)) {
          if (at) *at = s.at;
          return std::move(*t);
        }
        if (skipped) skipped->push_back(std::move(s.event));
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && queues_[sid].empty())
        return std::nullopt;
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::deque<Stamped>> queues_;
};

std::string new_id() {
  static std::mt19937_64 rng(12345);
  static std::mutex mu;
  std::lock_guard lock(mu);
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 32; ++i) id += hex[rng() & 15];
  return id;
}

eb::GvisorConfig test_config() {
  eb::GvisorConfig c;
  c.state_dir = std::string(kWorkDir) + "/state";
  c.work_dir = std::string(kWorkDir) + "/work";
  c.cgroup_parent = kCgroupParent;
  c.warm_pool_size = 1;
  return c;
}

struct Env {
  bool usable = false;
  std::string why;
  EventLog log;
  std::unique_ptr<eb::Backend> backend;
};

Env& env() {
  static Env* e = [] {
    auto* e = new Env;
    auto probe = eb::probe_gvisor(test_config());
    e->usable = probe.ok;
    e->why = probe.message;
    std::cerr << "probe: " << probe.message << "\n";
    if (!probe.ok) {
      std::cerr << "SKIPPING gvisor tests: " << probe.message << "\n";
      return e;
    }
    e->backend = eb::make_gvisor_backend(test_config(), [e](const std::string& sid, eb::Event ev) {
      e->log.push(sid, std::move(ev));
    });
    for (const auto& line : e->backend->cleanup_orphans({}))
      std::cerr << "cleanup: " << line << "\n";
    return e;
  }();
  return *e;
}

#define REQUIRE_RUNSC()                             \
  do {                                              \
    if (!env().usable) {                            \
      BOOST_TEST_MESSAGE("skipped: " << env().why); \
      return;                                       \
    }                                               \
  } while (0)

ev::SessionSpec batch(const std::string& code) {
  ev::SessionSpec s;
  s.set_code(code);
  s.set_language("python");
  s.set_exec_mode(ev::EXEC_MODE_BATCH);
  auto* l = s.mutable_limits();
  l->set_memory_mb(256);
  l->set_cpu_millis(1000);
  l->set_pids(64);
  l->set_wall_clock_seconds(30);
  l->set_disk_mb(64);
  s.mutable_egress()->set_mode("deny_all");
  return s;
}

struct Run {
  std::string id;
  Clock::time_point launched, started;
  bool got_started = false;
  std::vector<eb::Event> before_exit;
  eb::Exited exited;
  bool got_exit = false;
  bool got_removed = false;
};

Run launch(const ev::SessionSpec& spec) {
  Run r;
  r.id = new_id();
  r.launched = Clock::now();
  env().backend->launch(eb::LaunchSpec{r.id, spec});
  return r;
}

void wait_end(Run* r, std::chrono::milliseconds timeout = 60s) {
  auto ex = env().log.next<eb::Exited>(r->id, timeout, &r->before_exit);
  BOOST_REQUIRE_MESSAGE(ex.has_value(), "no Exited for " << r->id);
  r->exited = std::move(*ex);
  r->got_exit = true;
  for (const auto& e : r->before_exit) {
    if (std::holds_alternative<eb::Started>(e)) r->got_started = true;
  }
  auto rm = env().log.next<eb::Removed>(r->id, 30s);
  BOOST_REQUIRE_MESSAGE(rm.has_value(), "no Removed for " << r->id);
  r->got_removed = true;
}

Run run_batch(const std::string& code, std::function<void(ev::SessionSpec&)> tweak = {}) {
  auto spec = batch(code);
  if (tweak) tweak(spec);
  Run r = launch(spec);
  wait_end(&r);
  return r;
}

// Host processes whose command line names `id` (runsc run/gofer/sandbox of that container).
int processes_naming(const std::string& id) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(id) != std::string::npos) ++n;
  }
  return n;
}

uint64_t self_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(print_exit_code_and_result_round_trip) {
  REQUIRE_RUNSC();
  auto spec = batch(
      "import sys\nprint('hello', sys.stdin.read())\nenclave.result({'answer': 42, 'l': [1, 2]})\n"
      "print('to stderr', file=sys.stderr)\nsys.exit(3)\n");
  spec.set_stdin("from-stdin");
  (*spec.mutable_env())["GREETING"] = "hi";
  Run r = launch(spec);
  Clock::time_point started_at;
  auto st = env().log.next<eb::Started>(r.id, 30s, nullptr, &started_at);
  BOOST_REQUIRE(st.has_value());
  wait_end(&r);
  const auto& e = r.exited.exit;
  BOOST_TEST(e.exit_code() == 3);
  BOOST_TEST(e.stdout() == "hello from-stdin\n");
  BOOST_TEST(e.stderr() == "to stderr\n");
  BOOST_TEST(e.json() == "{\"answer\":42,\"l\":[1,2]}");
  BOOST_TEST(e.observed() == ev::KILL_REASON_NONE);
  BOOST_TEST(!e.stdout_truncated());
  BOOST_TEST(r.exited.usage.wall_ms() > 0u);
  BOOST_TEST(r.exited.usage.cpu_ms() > 0u);
  BOOST_TEST(r.exited.usage.peak_memory_bytes() > 0u);
  std::cerr
      << "batch cold start (launch -> Started): "
      << std::chrono::duration_cast<std::chrono::milliseconds>(started_at - r.launched).count()
      << " ms; wall " << r.exited.usage.wall_ms() << " ms, cpu " << r.exited.usage.cpu_ms()
      << " ms, peak " << (r.exited.usage.peak_memory_bytes() >> 20) << " MiB\n";
  bool streamed = false;
  for (const auto& ev : r.before_exit) {
    if (auto* o = std::get_if<eb::Output>(&ev); o && o->stream == "stdout") streamed = true;
  }
  BOOST_TEST(streamed);
}

BOOST_AUTO_TEST_CASE(env_is_only_the_specs) {
  REQUIRE_RUNSC();
  ::setenv("ENCLAVE_HOST_SECRET", "leak", 1);
  Run r = run_batch(
      "import os\nprint(os.environ.get('GREETING'), os.environ.get('ENCLAVE_HOST_SECRET'), "
      "os.getuid())\n",
      [](ev::SessionSpec& s) { (*s.mutable_env())["GREETING"] = "hi"; });
  BOOST_TEST(r.exited.exit.stdout() == "hi None 65534\n");
}

BOOST_AUTO_TEST_CASE(workload_closing_stdin_early_is_harmless) {
  REQUIRE_RUNSC();
  Run r = run_batch("import os\nos.close(0)\nprint('closed')\n",
                    [](ev::SessionSpec& s) { s.set_stdin(std::string(4 << 20, 'x')); });
  BOOST_TEST(r.exited.exit.exit_code() == 0);
  BOOST_TEST(r.exited.exit.stdout() == "closed\n");
}

BOOST_AUTO_TEST_CASE(printed_json_is_not_a_result) {
  REQUIRE_RUNSC();
  // Printing JSON, or framing a result on a second connection to the channel socket (the
  // supervisor accepted only the runner's), does not make a result.
  Run r = run_batch(
      "import socket, struct\nprint('{\"forged\": true}')\n"
      "s = socket.socket(socket.AF_UNIX)\n"
      "try:\n    s.connect('/opt/enclave-io/channel.sock')\n"
      "    p = b'{\"forged\":2}'\n    s.sendall(struct.pack('>I', len(p) + 1) + b'R' + p)\n"
      "except OSError as e:\n    pass\n");
  BOOST_TEST(r.exited.exit.exit_code() == 0);
  BOOST_TEST(r.exited.exit.json() == "");
  BOOST_TEST(r.exited.exit.stdout() == "{\"forged\": true}\n");
}

BOOST_AUTO_TEST_CASE(last_result_wins_and_exception_exits_1) {
  REQUIRE_RUNSC();
  Run r = run_batch("enclave.result(1)\nenclave.result('two')\nraise RuntimeError('boom')\n");
  BOOST_TEST(r.exited.exit.exit_code() == 1);
  BOOST_TEST(r.exited.exit.json() == "\"two\"");
  BOOST_TEST(r.exited.exit.stderr().find("RuntimeError: boom") != std::string::npos);
  BOOST_TEST(r.exited.exit.stderr().find("runner.py") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(memory_hog_is_observed_as_memory_exceeded) {
  REQUIRE_RUNSC();
  Run r = run_batch("chunks = []\nwhile True:\n    chunks.append(bytearray(8 << 20))\n",
                    [](ev::SessionSpec& s) { s.mutable_limits()->set_memory_mb(128); });
  BOOST_TEST(r.exited.exit.observed() == ev::KILL_REASON_MEMORY_EXCEEDED);
  BOOST_TEST(r.exited.exit.exit_code() != 0);
  std::cerr << "memory hog: exit " << r.exited.exit.exit_code() << ", peak "
            << (r.exited.usage.peak_memory_bytes() >> 20) << " MiB\n";
}

BOOST_AUTO_TEST_CASE(fork_bomb_is_contained) {
  REQUIRE_RUNSC();
  const int baseline = processes_naming(kWorkDir);  // runsc processes of this suite
  auto spec = batch(
      "import os, time\nn = 0\nfor _ in range(10000):\n    try:\n        if os.fork() == 0:\n"
      "            time.sleep(30)\n            os._exit(0)\n        n += 1\n"
      "    except OSError:\n        break\nprint('forked', n)\nimport sys; sys.stdout.flush()\n"
      "time.sleep(30)\n");
  // Enough memory for 64 idle Pythons, so that RLIMIT_NPROC (not the OOM killer) stops it.
  spec.mutable_limits()->set_memory_mb(1024);
  Run r = launch(spec);
  // The bomb reports how far it got; RLIMIT_NPROC (64) stops it.
  std::vector<eb::Event> seen;
  std::string out;
  const auto deadline = Clock::now() + 60s;
  while (out.find('\n') == std::string::npos && Clock::now() < deadline) {
    auto o = env().log.next<eb::Output>(r.id, 60s, &seen);
    if (!o) {
      for (const auto& e : seen) {
        if (auto* x = std::get_if<eb::Exited>(&e))
          BOOST_FAIL("exited early: " << x->exit.exit_code() << " observed " << x->exit.observed()
                                      << " " << x->exit.detail() << " " << x->exit.stderr());
      }
    }
    BOOST_REQUIRE(o.has_value());
    if (o->stream == "stdout") out += o->data;
  }
  int forked = -1;
  std::sscanf(out.c_str(), "forked %d", &forked);
  BOOST_TEST(forked >= 0);
  BOOST_TEST(forked < 64);
  const int during = processes_naming(kWorkDir);
  std::string pids_current;
  {
    std::ifstream in(std::string("/sys/fs/cgroup/pids/") + kCgroupParent + "/" + r.id +
                     "/pids.current");
    in >> pids_current;
  }
  BOOST_TEST(processes_naming(r.id) > 0);
  env().backend->kill(r.id, "test");
  wait_end(&r);
  const int after = processes_naming(kWorkDir);
  std::cerr << "fork bomb: forked " << forked
            << " inside (host tasks in its cgroup: " << pids_current
            << "); runsc processes of this suite: baseline " << baseline << ", during " << during
            << ", after " << after << "\n";
  BOOST_TEST(processes_naming(r.id) == 0);
  BOOST_TEST(
      !std::filesystem::exists(std::string("/sys/fs/cgroup/pids/") + kCgroupParent + "/" + r.id));
  BOOST_TEST(after <= baseline);
}

BOOST_AUTO_TEST_CASE(endless_loop_is_killed_promptly) {
  REQUIRE_RUNSC();
  Run r = launch(batch("while True:\n    pass\n"));
  BOOST_REQUIRE(env().log.next<eb::Started>(r.id, 30s).has_value());
  const auto t0 = Clock::now();
  env().backend->kill(r.id, "wall clock");
  Clock::time_point exited_at;
  auto ex = env().log.next<eb::Exited>(r.id, 30s, nullptr, &exited_at);
  BOOST_REQUIRE(ex.has_value());
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(exited_at - t0).count();
  std::cerr << "kill -> Exited: " << ms << " ms (exit " << ex->exit.exit_code() << ")\n";
  BOOST_TEST(ms < 3000);
  BOOST_TEST(ex->exit.exit_code() != 0);
  BOOST_REQUIRE(env().log.next<eb::Removed>(r.id, 30s).has_value());
  // kill of an unknown session still answers Removed.
  const std::string unknown = new_id();
  env().backend->kill(unknown, "test");
  BOOST_TEST(env().log.next<eb::Removed>(unknown, 5s).has_value());
}

BOOST_AUTO_TEST_CASE(wall_clock_backstop) {
  REQUIRE_RUNSC();
  auto spec = batch("import time\ntime.sleep(60)\n");
  spec.mutable_limits()->set_wall_clock_seconds(1);
  eb::GvisorConfig c;
  Run r = launch(spec);
  wait_end(&r, 30s);
  BOOST_TEST(r.exited.exit.observed() == ev::KILL_REASON_WALL_CLOCK_EXCEEDED);
  BOOST_TEST(r.exited.usage.wall_ms() < 15000u);
}

BOOST_AUTO_TEST_CASE(metadata_connect_is_denied_and_audited) {
  REQUIRE_RUNSC();
  Run r = run_batch(
      "import socket\ntry:\n    socket.create_connection(('169.254.169.254', 80), timeout=3)\n"
      "    print('connected')\nexcept OSError as e:\n    print('failed', e.errno)\n"
      "try:\n    socket.create_connection(('2001:db8::1', 443), timeout=3)\n"
      "except OSError as e:\n    print('failed6')\n");
  BOOST_TEST(r.exited.exit.stdout().find("connected") == std::string::npos);
  std::vector<std::pair<std::string, uint32_t>> denied;
  for (const auto& e : r.before_exit) {
    if (auto* d = std::get_if<eb::EgressDenied>(&e)) denied.emplace_back(d->host, d->port);
  }
  BOOST_REQUIRE(!denied.empty());
  BOOST_TEST(denied[0].first == "169.254.169.254");
  BOOST_TEST(denied[0].second == 80u);
  bool v6 = false;
  for (const auto& [h, p] : denied) v6 = v6 || (h == "2001:db8::1" && p == 443u);
  BOOST_TEST(v6);
}

BOOST_AUTO_TEST_CASE(host_files_are_invisible) {
  REQUIRE_RUNSC();
  // A host file outside /usr that the sandbox must not see.
  std::filesystem::create_directories(std::string(kWorkDir) + "/secret");
  { std::ofstream(std::string(kWorkDir) + "/secret/host.txt") << "host secret"; }
  Run r = run_batch(
      "import os\nfor p in ['/etc/shadow', '/etc/passwd', '" + kWorkDir +
      "/secret/host.txt',"
      " '/root/.bashrc', '/proc/1/root/etc/shadow', '/work/shared/NOTES.md']:\n"
      "    try:\n        open(p).read(); print('READ', p)\n    except OSError as e:\n"
      "        print('denied', p)\n"
      "print(sorted(os.listdir('/')))\n"
      "try:\n    open('/usr/evil', 'w'); print('WROTE /usr')\nexcept OSError:\n    print('ro "
      "usr')\n"
      "open('/tmp/ok', 'w').write('x'); print('tmp ok')\n");
  const auto& out = r.exited.exit.stdout();
  BOOST_TEST(out.find("READ") == std::string::npos, out);
  BOOST_TEST(out.find("WROTE") == std::string::npos, out);
  BOOST_TEST(out.find("tmp ok") != std::string::npos, out);
  std::cerr << "sandbox sees: " << out;
}

BOOST_AUTO_TEST_CASE(tmp_is_limited_to_disk_mb) {
  REQUIRE_RUNSC();
  Run r = run_batch(
      "import errno\nn = 0\ntry:\n    with open('/tmp/big', 'wb') as f:\n"
      "        for _ in range(64):\n            f.write(b'x' * (1 << 20)); f.flush(); n += 1\n"
      "    print('wrote', n)\nexcept OSError as e:\n    print('stopped', n, "
      "errno.errorcode[e.errno])\n",
      [](ev::SessionSpec& s) { s.mutable_limits()->set_disk_mb(16); });
  BOOST_TEST(r.exited.exit.stdout().rfind("stopped", 0) == 0, r.exited.exit.stdout());
  std::cerr << "tmpfs 16 MiB: " << r.exited.exit.stdout();
}

BOOST_AUTO_TEST_CASE(stdout_flood_is_capped) {
  REQUIRE_RUNSC();
  const uint64_t rss_before = self_rss_kb();
  Run r = run_batch(
      "import sys\nb = b'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.buffer.write(b)\n"
      "sys.stdout.flush()\nsys.stderr.write('done')\n");
  const uint64_t rss_after = self_rss_kb();
  const auto& e = r.exited.exit;
  BOOST_TEST(e.exit_code() == 0);
  BOOST_TEST(e.stdout_truncated());
  BOOST_TEST(e.stdout().size() == (1u << 20));
  BOOST_TEST(e.stdout_bytes() == 100ull << 20);
  BOOST_TEST(e.stderr() == "done");
  std::cerr << "flood: kept " << e.stdout().size() << " of " << e.stdout_bytes()
            << " bytes; test RSS " << rss_before / 1024 << " -> " << rss_after / 1024 << " MiB in "
            << r.exited.usage.wall_ms() << " ms\n";
  BOOST_TEST(rss_after < rss_before + 64 * 1024);  // far below the 100 MiB produced
}

BOOST_AUTO_TEST_CASE(interactive_namespace_persists_across_turns) {
  REQUIRE_RUNSC();
  auto spec = batch("y = 1\n");
  spec.set_exec_mode(ev::EXEC_MODE_INTERACTIVE);
  Run r = launch(spec);
  Clock::time_point started_at;
  BOOST_REQUIRE(env().log.next<eb::Started>(r.id, 30s, nullptr, &started_at).has_value());
  auto& b = *env().backend;
  auto turn = [&](uint32_t n, const std::string& code, int64_t timeout_ms = 10000) {
    b.exec_turn(r.id, n, code, timeout_ms);
    auto d = env().log.next<eb::TurnDone>(r.id, 30s);
    BOOST_REQUIRE(d.has_value());
    BOOST_TEST(d->turn.turn() == n);
    return d->turn;
  };
  const auto t0 = Clock::now();
  auto t1 = turn(1, "x = 41\n");
  const auto first_turn_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  BOOST_TEST(t1.has_exit_code());
  BOOST_TEST(t1.exit_code() == 0);
  auto t2 = turn(2, "print(x + y)\nenclave.result({'x': x})\n");
  BOOST_TEST(t2.stdout() == "42\n");
  BOOST_TEST(t2.json() == "{\"x\":41}");
  BOOST_TEST(t2.code_sha256().size() == 64u);
  auto t3 = turn(3, "x = 99\nraise ValueError('bad turn')\n");
  BOOST_TEST(t3.exit_code() == 1);
  BOOST_TEST(t3.stderr().find("ValueError: bad turn") != std::string::npos);
  auto t4 = turn(4, "print(x)\n");
  BOOST_TEST(t4.exit_code() == 0);
  BOOST_TEST(t4.stdout() == "99\n");
  BOOST_TEST(t4.json() == "");
  auto raw = turn(5, "import sys\nsys.stdout.buffer.write(b'raw\\n')\n");
  BOOST_TEST(raw.stdout() == "raw\n");
  auto eof = turn(6, "try:\n    input()\nexcept EOFError:\n    print('eof')\n");
  BOOST_TEST(eof.stdout() == "eof\n");
  {
    // Output of a running turn streams out before the turn ends.
    b.exec_turn(r.id, 9, "import time\nprint('a')\ntime.sleep(0.3)\nprint('b')\n", 10000);
    std::vector<eb::Event> seen;
    Clock::time_point first_at, done_at;
    auto first = env().log.next<eb::Output>(r.id, 10s, &seen, &first_at);
    BOOST_REQUIRE(first.has_value());
    auto done = env().log.next<eb::TurnDone>(r.id, 10s, &seen, &done_at);
    BOOST_REQUIRE(done.has_value());
    std::string streamed = first->data;
    for (const auto& e : seen) {
      if (auto* o = std::get_if<eb::Output>(&e)) streamed += o->data;
    }
    BOOST_TEST(first->turn == 9u);
    BOOST_TEST(streamed == "a\nb\n");
    BOOST_TEST(done->turn.stdout() == "a\nb\n");
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(done_at - first_at).count() >=
               200);
  }
  const auto t5s = Clock::now();
  auto t5 = turn(7, "pass\n");
  const auto trivial_us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t5s).count();
  std::cerr
      << "interactive: launch -> Started "
      << std::chrono::duration_cast<std::chrono::milliseconds>(started_at - r.launched).count()
      << " ms; first turn " << first_turn_ms << " ms; trivial turn " << trivial_us << " us\n";
  auto t6 = turn(8, "while True:\n    pass\n", 500);
  BOOST_TEST(t6.timed_out());
  BOOST_TEST(!t6.has_exit_code());
  b.kill(r.id, "turn timeout");
  wait_end(&r);
  BOOST_TEST(r.exited.usage.turn_ms_total() > 0u);
}

BOOST_AUTO_TEST_CASE(interactive_cold_path_with_custom_limits) {
  REQUIRE_RUNSC();
  auto spec = batch("");
  spec.set_exec_mode(ev::EXEC_MODE_INTERACTIVE);
  spec.mutable_limits()->set_disk_mb(16);  // the pool cannot serve this: cold start
  Run r = launch(spec);
  Clock::time_point started_at;
  BOOST_REQUIRE(env().log.next<eb::Started>(r.id, 30s, nullptr, &started_at).has_value());
  std::cerr
      << "interactive cold: launch -> Started "
      << std::chrono::duration_cast<std::chrono::milliseconds>(started_at - r.launched).count()
      << " ms\n";
  env().backend->exec_turn(r.id, 1, "import os\nprint(os.getuid())\n", 10000);
  auto d = env().log.next<eb::TurnDone>(r.id, 30s);
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST(d->turn.stdout() == "65534\n");
  env().backend->kill(r.id, "done");
  wait_end(&r);
}

BOOST_AUTO_TEST_CASE(interactive_setup_failure_fails_the_session) {
  REQUIRE_RUNSC();
  auto spec = batch("raise SystemExit(7)\n");
  spec.set_exec_mode(ev::EXEC_MODE_INTERACTIVE);
  Run r = launch(spec);
  wait_end(&r);
  BOOST_TEST(!r.got_started);
  BOOST_TEST(r.exited.exit.exit_code() == 7);
}

// A tiny HTTP server on host loopback (port 0: hermetic) answering "hello" to each request.
class HelloServer {
 public:
  HelloServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        char buf[4096];
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
        }
        const std::string resp =
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
        (void)::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~HelloServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

BOOST_AUTO_TEST_CASE(allow_list_goes_through_the_proxy_only) {
  REQUIRE_RUNSC();
  HelloServer allowed, other;
  const std::string code =
      "import os, socket, urllib.request\n"
      "A, B = " +
      std::to_string(allowed.port()) + ", " + std::to_string(other.port()) +
      "\n"
      "print(urllib.request.urlopen('http://127.0.0.1:%d/x' % A, timeout=10).read().decode())\n"
      "try:\n    urllib.request.urlopen('http://127.0.0.1:%d/' % B, timeout=10); print('LEAK')\n"
      "except Exception as e:\n    print('refused', getattr(e, 'code', e))\n"
      "s = socket.create_connection(('127.0.0.1', 3128))\n"
      "s.sendall(b'CONNECT 127.0.0.1:%d HTTP/1.1\\r\\n\\r\\nGET / HTTP/1.0\\r\\n\\r\\n' % A)\n"
      "data = b''\nwhile True:\n    d = s.recv(4096)\n    if not d: break\n    data += d\n"
      "print('tunnel', data.endswith(b'hello'))\n"
      "try:\n    socket.create_connection(('10.1.2.3', 443), timeout=3); print('LEAK')\n"
      "except OSError:\n    print('direct refused')\n";
  Run r = run_batch(code, [&](ev::SessionSpec& s) {
    s.mutable_egress()->set_mode("allow_list");
    s.mutable_egress()->add_allow("127.0.0.1:" + std::to_string(allowed.port()));
  });
  const auto& out = r.exited.exit.stdout();
  BOOST_TEST(out == "hello\nrefused 403\ntunnel True\ndirect refused\n",
             out << r.exited.exit.stderr());
  std::vector<std::pair<std::string, uint32_t>> denied;
  for (const auto& e : r.before_exit) {
    if (auto* d = std::get_if<eb::EgressDenied>(&e)) denied.emplace_back(d->host, d->port);
  }
  BOOST_TEST(std::count(denied.begin(), denied.end(),
                        std::make_pair(std::string("127.0.0.1"),
                                       static_cast<uint32_t>(other.port()))) == 1);
  BOOST_TEST(
      std::count(denied.begin(), denied.end(), std::make_pair(std::string("10.1.2.3"), 443u)) == 1);
  BOOST_TEST(denied.size() == 2u);
}

BOOST_AUTO_TEST_CASE(parallel_sessions_are_independent) {
  REQUIRE_RUNSC();
  std::vector<Run> runs;
  const auto t0 = Clock::now();
  for (int i = 0; i < 6; ++i) {
    runs.push_back(launch(batch("import os\nenclave.result(" + std::to_string(i) + ")\nprint(" +
                                std::to_string(i) + ")\n")));
  }
  for (int i = 0; i < 6; ++i) {
    wait_end(&runs[i]);
    BOOST_TEST(runs[i].exited.exit.exit_code() == 0);
    BOOST_TEST(runs[i].exited.exit.json() == std::to_string(i));
    BOOST_TEST(runs[i].exited.exit.stdout() == std::to_string(i) + "\n");
  }
  std::cerr << "6 parallel batch sessions: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()
            << " ms\n";
}

BOOST_AUTO_TEST_CASE(kill_right_after_launch_cleans_up) {
  REQUIRE_RUNSC();
  Run r = launch(batch("import time\ntime.sleep(60)\n"));
  env().backend->kill(r.id, "teardown");
  wait_end(&r, 30s);
  BOOST_TEST(r.exited.exit.exit_code() != 0);
  BOOST_TEST(
      !std::filesystem::exists(std::string("/sys/fs/cgroup/memory/") + kCgroupParent + "/" + r.id));
  BOOST_TEST(processes_naming(r.id) == 0);
}

BOOST_AUTO_TEST_CASE(kill_of_a_leftover_removes_it) {
  REQUIRE_RUNSC();
  const std::string id = new_id();
  const std::string dir = std::string("/sys/fs/cgroup/memory/") + kCgroupParent + "/" + id;
  std::filesystem::create_directory(dir);
  env().backend->kill(id, "engine restarted");
  auto rm = env().log.next<eb::Removed>(id, 20s);
  BOOST_REQUIRE(rm.has_value());
  BOOST_TEST(rm->detail.find("cgroup") != std::string::npos, rm->detail);
  BOOST_TEST(!std::filesystem::exists(dir));
}

BOOST_AUTO_TEST_CASE(unusable_runsc_reports_a_start_failure) {
  REQUIRE_RUNSC();
  EventLog log;
  auto cfg = test_config();
  cfg.runsc_path = "/bin/false";
  cfg.work_dir = std::string(kWorkDir) + "/work-false";
  cfg.state_dir = std::string(kWorkDir) + "/state-false";
  cfg.warm_pool_size = 0;
  auto b = eb::make_gvisor_backend(
      cfg, [&](const std::string& sid, eb::Event e) { log.push(sid, std::move(e)); });
  const std::string id = new_id();
  b->launch(eb::LaunchSpec{id, batch("print(1)\n")});
  std::vector<eb::Event> seen;
  auto ex = log.next<eb::Exited>(id, 30s, &seen);
  BOOST_REQUIRE(ex.has_value());
  BOOST_TEST(ex->exit.exit_code() == -1);
  BOOST_TEST(!ex->exit.detail().empty());
  BOOST_TEST(log.next<eb::Removed>(id, 30s).has_value());
  for (const auto& e : seen) BOOST_TEST(!std::holds_alternative<eb::Started>(e));
  std::cerr << "start failure detail: " << ex->exit.detail() << "\n";
  b->shutdown();
}

BOOST_AUTO_TEST_CASE(a_second_instance_leaves_the_first_alone) {
  REQUIRE_RUNSC();
  Run r =
      launch(batch("import sys\nprint(sys.stdin.readline().strip())\n"
                   "import time\ntime.sleep(1.5)\nenclave.result('survived')\n"));
  BOOST_REQUIRE(env().log.next<eb::Started>(r.id, 30s).has_value());
  EventLog log;
  auto cfg = test_config();
  cfg.warm_pool_size = 0;
  auto second = eb::make_gvisor_backend(
      cfg, [&](const std::string& sid, eb::Event e) { log.push(sid, std::move(e)); });
  const auto lines = second->cleanup_orphans({});
  for (const auto& l : lines) BOOST_TEST(l.find(r.id) == std::string::npos, l);
  // The second instance works, in its own slot.
  const std::string id = new_id();
  second->launch(eb::LaunchSpec{id, batch("enclave.result('second')\n")});
  auto ex = log.next<eb::Exited>(id, 30s);
  BOOST_REQUIRE(ex.has_value());
  BOOST_TEST(ex->exit.json() == "\"second\"");
  BOOST_TEST(log.next<eb::Removed>(id, 30s).has_value());
  second->shutdown();
  wait_end(&r);
  BOOST_TEST(r.exited.exit.json() == "\"survived\"");
}

BOOST_AUTO_TEST_CASE(zz_everything_is_removed_after_shutdown) {
  REQUIRE_RUNSC();
  // A session still running at shutdown is ended and reported.
  Run r = launch(batch("while True:\n    pass\n"));
  BOOST_REQUIRE(env().log.next<eb::Started>(r.id, 30s).has_value());
  env().backend->shutdown();
  wait_end(&r, 1s);  // already delivered: shutdown returns after the last event
  const auto cfg = test_config();
  auto list = enclave::backends::gvisor::run_command(
      {cfg.runsc_path, "--root=" + cfg.state_dir, "--network=none", "list", "-quiet"}, 10s);
  BOOST_TEST(list.exit_code == 0);
  BOOST_TEST(list.output == "", "runsc list: " << list.output);
  for (const char* ctl : {"memory", "pids", "cpu", "cpuacct", "cpuset"}) {
    const std::string dir = std::string("/sys/fs/cgroup/") + ctl + "/" + kCgroupParent;
    int children = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) children += e.is_directory();
    BOOST_TEST(children == 0, dir << " has " << children << " children");
  }
  int sessions = 0;
  std::error_code ec;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator(cfg.work_dir + "/sessions", ec))
    ++sessions;
  BOOST_TEST(sessions == 0);
  // No zombie children left behind (we are a subreaper for runsc's processes).
  int zombies = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(e.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 4 >= stat.size()) continue;
    if (stat[close + 2] == 'Z' && std::atoi(stat.c_str() + close + 4) == ::getpid()) ++zombies;
  }
  BOOST_TEST(zombies == 0);
  // Leave nothing of this suite behind.
  for (const char* ctl : {"memory", "pids", "cpu", "cpuacct", "cpuset"}) {
    for (const std::string suffix : {"", "-1"}) {
      ::rmdir((std::string("/sys/fs/cgroup/") + ctl + "/" + kCgroupParent + suffix).c_str());
    }
  }
  std::filesystem::remove_all(kWorkDir, ec);
}
