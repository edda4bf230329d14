// gVisor backend against the real runsc (as root): batch runs and hostile payloads. Skipped with
// the probe's message when runsc is unusable.
#define BOOST_TEST_MODULE gvisor_batch
#include "tests/backends/gvisor/gvisor_fixture.h"

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

BOOST_AUTO_TEST_CASE(site_effects_without_site_and_no_runsc_state_after_exit) {
  REQUIRE_RUNSC();
  // Python runs with -S (no .pth hooks); the runner recreates what site gives workloads.
  // Cold (a pool kernel cannot serve disk_mb 16): the lean runner's own startup is checked.
  Run r = run_batch(
      "import sys\nprint(sys.flags.no_site, '/usr/lib/python3/dist-packages' in sys.path, "
      "callable(help), str(copyright)[:9], 'json' in sys.modules)\nexit(3)\n",
      [](ev::SessionSpec& s) { s.mutable_limits()->set_disk_mb(16); });
  BOOST_TEST(r.exited.exit.exit_code() == 3);
  BOOST_TEST(r.exited.exit.stdout() == "1 True True Copyright False\n");
  // A workload that exited by itself: runsc run destroyed the container (no `runsc delete`
  // was needed) and nothing of it is left.
  BOOST_TEST(processes_naming(r.id) == 0);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(test_config().state_dir, ec)) {
    BOOST_TEST(e.path().filename().string().rfind(r.id, 0) != 0, "left: " << e.path());
  }
}

// A one-shot that a warm pool kernel serves (Python, no stdin, default disk) runs in it, and
// answers exactly as the same one-shot in a cold sandbox.
BOOST_AUTO_TEST_CASE(a_pool_kernel_serves_a_one_shot_like_a_cold_sandbox) {
  REQUIRE_RUNSC();
  const std::string code =
      "import os, sys\nprint('out', os.environ.get('GREETING'), sys.argv)\n"
      "print('err', file=sys.stderr)\nenclave.result({'n': 7})\nraise SystemExit(5)\n";
  auto with_env = [](ev::SessionSpec& s) { (*s.mutable_env())["GREETING"] = "hi"; };
  Run cold = run_batch(code, [&](ev::SessionSpec& s) {
    with_env(s);
    s.mutable_limits()->set_disk_mb(16);
  });
  Run warm = launch([&] {
    auto spec = batch(code);
    with_env(spec);
    return spec;
  }());
  wait_end(&warm);
  for (const Run* r : {&cold, &warm}) {
    BOOST_TEST(r->exited.exit.exit_code() == 5);
    BOOST_TEST(r->exited.exit.stdout() == "out hi ['<workload>']\n");
    BOOST_TEST(r->exited.exit.stderr() == "err\n");
    BOOST_TEST(r->exited.exit.json() == "{\"n\":7}");
  }
  // Where it runs: while it runs, no runsc process is named after the session.
  Run sleeper = launch(batch("import time\nprint('up', flush=True)\ntime.sleep(60)\n"));
  std::vector<eb::Event> seen;
  auto o = env().log.next<eb::Output>(sleeper.id, 60s, &seen);
  BOOST_REQUIRE(o.has_value());
  BOOST_TEST(processes_naming(sleeper.id) == 0);  // a pool kernel's container, not its own
  env().backend->kill(sleeper.id, "test");
  wait_end(&sleeper);
}

// A workload that forges the runner's "done" frame and goes on is ended within the grace: it
// gains nothing it could not get by exiting (its status is its own), and cannot outlive it.
BOOST_AUTO_TEST_CASE(a_forged_done_frame_does_not_let_a_workload_outlive_it) {
  REQUIRE_RUNSC();
  auto spec = batch(
      "import sys, time\nsys.modules['__main__']._send(b'X', '0')\n"
      "print('still here', flush=True)\ntime.sleep(60)\n");
  spec.mutable_limits()->set_disk_mb(16);  // cold: its processes carry the session id
  Run r = launch(spec);
  wait_end(&r, 10s);  // Exited, then Removed within 30 s (the sleep would take 60)
  BOOST_TEST(r.exited.exit.exit_code() == 0);
  BOOST_TEST(r.got_removed);
  BOOST_TEST(processes_naming(r.id) == 0);
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
  spec.mutable_limits()->set_disk_mb(16);  // cold: its processes and cgroup carry the session id
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

BOOST_AUTO_TEST_CASE(zz_everything_is_removed_after_shutdown) {
  REQUIRE_RUNSC();
  shut_down_with_a_session_running_and_check_everything_removed();
}
