// gVisor backend against the real runsc (as root): interactive kernels, allow-list egress,
// kill/cleanup/instances. Skipped with the probe's message when runsc is unusable.
#define BOOST_TEST_MODULE gvisor_lifecycle
#include "tests/backends/gvisor/gvisor_fixture.h"

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

BOOST_AUTO_TEST_CASE(timed_out_turn_is_interrupted_and_the_kernel_lives) {
  REQUIRE_RUNSC();
  auto spec = batch("");
  spec.set_exec_mode(ev::EXEC_MODE_INTERACTIVE);
  Run r = launch(spec);
  BOOST_REQUIRE(env().log.next<eb::Started>(r.id, 30s).has_value());
  auto& b = *env().backend;
  auto turn = [&](uint32_t n, const std::string& code, int64_t timeout_ms) {
    b.exec_turn(r.id, n, code, timeout_ms);
    auto d = env().log.next<eb::TurnDone>(r.id, 30s);
    BOOST_REQUIRE(d.has_value());
    BOOST_TEST(d->turn.turn() == n);
    return d->turn;
  };
  turn(1, "x = 41\n", 10000);
  // A slow cell: KeyboardInterrupt at its timeout, its output so far kept, the namespace kept.
  auto slow = turn(2, "print('before', flush=True)\nwhile True:\n    pass\n", 700);
  BOOST_TEST(slow.timed_out());
  BOOST_TEST(slow.interrupted());
  BOOST_TEST(!slow.has_exit_code());
  BOOST_TEST(slow.stdout() == "before\n");
  BOOST_TEST(slow.stderr().find("KeyboardInterrupt") != std::string::npos);
  auto sleepy = turn(3, "import time\ntime.sleep(60)\n", 500);  // blocked in a syscall
  BOOST_TEST(sleepy.interrupted());
  auto after = turn(4, "print(x + 1)\n", 10000);
  BOOST_TEST(after.exit_code() == 0);
  BOOST_TEST(after.stdout() == "42\n");
  // A cell that swallows the interrupt and goes on: not stopped within the grace period, so the
  // kernel is given up (timed out, not interrupted: the session is then killed).
  const auto t0 = Clock::now();
  auto stubborn = turn(5,
                       "while True:\n    try:\n        while True:\n            pass\n"
                       "    except KeyboardInterrupt:\n        pass\n",
                       500);
  BOOST_TEST(stubborn.timed_out());
  BOOST_TEST(!stubborn.interrupted());
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count() >=
             3000);  // timeout + grace
  auto refused = turn(6, "print(1)\n", 10000);
  BOOST_TEST(!refused.has_exit_code());  // the kernel is broken: only a kill remains
  b.kill(r.id, "turn ignored its interrupt");
  wait_end(&r);
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

BOOST_AUTO_TEST_CASE(allow_list_goes_through_the_proxy_only) {
  REQUIRE_RUNSC();
  // 127.0.0.2 is permitted by the operator (test_config); 127.0.0.1 stands for the host's own
  // services (e.g. enclaved's API), listed by a tenant as "localhost:<port>".
  HelloServer allowed(0x7f000002), other(0x7f000002), host_api;
  const std::string code =
      "import os, socket, urllib.request\n"
      "A, B, H = " +
      std::to_string(allowed.port()) + ", " + std::to_string(other.port()) + ", " +
      std::to_string(host_api.port()) +
      "\n"
      "print(urllib.request.urlopen('http://127.0.0.2:%d/x' % A, timeout=10).read().decode())\n"
      "try:\n    urllib.request.urlopen('http://127.0.0.2:%d/' % B, timeout=10); print('LEAK')\n"
      "except Exception as e:\n    print('refused', getattr(e, 'code', e))\n"
      "try:\n    urllib.request.urlopen('http://localhost:%d/' % H, timeout=10); print('ESCAPED')\n"
      "except Exception as e:\n    print('refused', getattr(e, 'code', e))\n"
      "s = socket.create_connection(('127.0.0.1', 3128))\n"
      "s.sendall(b'CONNECT 127.0.0.2:%d HTTP/1.1\\r\\n\\r\\nGET / HTTP/1.0\\r\\n\\r\\n' % A)\n"
      "data = b''\nwhile True:\n    d = s.recv(4096)\n    if not d: break\n    data += d\n"
      "print('tunnel', data.endswith(b'hello'))\n"
      "try:\n    socket.create_connection(('10.1.2.3', 443), timeout=3); print('LEAK')\n"
      "except OSError:\n    print('direct refused')\n";
  Run r = run_batch(code, [&](ev::SessionSpec& s) {
    s.mutable_egress()->set_mode("allow_list");
    s.mutable_egress()->add_allow("127.0.0.2:" + std::to_string(allowed.port()));
    s.mutable_egress()->add_allow("localhost:" + std::to_string(host_api.port()));
  });
  const auto& out = r.exited.exit.stdout();
  BOOST_TEST(out == "hello\nrefused 403\nrefused 403\ntunnel True\ndirect refused\n",
             out << r.exited.exit.stderr());
  std::vector<eb::EgressDenied> denied;
  std::vector<eb::EgressAllowed> opened;
  for (const auto& e : r.before_exit) {
    if (auto* d = std::get_if<eb::EgressDenied>(&e)) denied.push_back(*d);
    if (auto* a = std::get_if<eb::EgressAllowed>(&e)) opened.push_back(*a);
  }
  BOOST_TEST_REQUIRE(denied.size() == 3u);
  auto find = [&](const std::string& host) {
    return std::find_if(denied.begin(), denied.end(), [&](auto& d) { return d.host == host; });
  };
  auto unlisted = find("127.0.0.2"), internal = find("localhost"), direct = find("10.1.2.3");
  BOOST_TEST_REQUIRE(
      (unlisted != denied.end() && internal != denied.end() && direct != denied.end()));
  BOOST_TEST(unlisted->port == static_cast<uint32_t>(other.port()));
  BOOST_TEST(unlisted->reason == "not_allowed");
  BOOST_TEST(internal->port == static_cast<uint32_t>(host_api.port()));
  BOOST_TEST(internal->reason == "internal_address");
  BOOST_TEST((internal->ip == "127.0.0.1" || internal->ip == "::1"), internal->ip);
  BOOST_TEST(direct->port == 443u);
  BOOST_TEST(direct->ip == "10.1.2.3");
  BOOST_TEST(direct->reason == "not_allowed");
  BOOST_TEST_REQUIRE(opened.size() == 2u);  // the GET and the tunnel, each at the checked address
  for (const auto& a : opened) {
    BOOST_TEST(a.host == "127.0.0.2");
    BOOST_TEST(a.ip == "127.0.0.2");
    BOOST_TEST(a.port == static_cast<uint32_t>(allowed.port()));
  }
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
  wait_end(&r, 30s);  // checks every trace of the container id the backend reported
  BOOST_TEST(r.exited.exit.exit_code() != 0);
  BOOST_TEST(!r.container_id.empty());
}

// A session served by a warm-pool kernel runs in a container whose id is NOT the session id: a
// leftover check that looks for the session id looks for something that never exists. The
// backend reports the real one; while the session runs, the host shows it, and after Removed
// nothing does.
BOOST_AUTO_TEST_CASE(a_pool_kernel_is_found_by_its_reported_container_id) {
  REQUIRE_RUNSC();
  // Python, no stdin, the pool's disk and pids: served by the pre-started kernel.
  Run r = launch(batch("import time\ntime.sleep(30)\n"));
  auto up = env().log.next<eb::Started>(r.id, 30s);
  BOOST_REQUIRE(up.has_value());
  const std::string cid = up->container_id;
  BOOST_TEST(cid.size() == 32u, cid);
  BOOST_TEST(cid != r.id, "a pool kernel carries its own random id");
  BOOST_TEST(processes_naming(cid) > 0, "the running sandbox is visible under " << cid);
  BOOST_TEST(!traces_of_container(cid).empty());
  BOOST_TEST(processes_naming(r.id) == 0, "nothing on the host carries the session id");
  env().backend->kill(r.id, "done");
  wait_end(&r, 30s);
  BOOST_TEST(r.container_id == cid);
  BOOST_TEST(traces_of_container(cid).empty());
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
namespace {
std::string cgroup_value(const std::string& cid, const std::string& ctl, const std::string& f) {
  std::ifstream in("/sys/fs/cgroup/" + ctl + "/" + kCgroupParent + "/" + cid + "/" + f);
  std::string v;
  std::getline(in, v);
  return v;
}

// Nice values of every thread of every process naming `cid` (the `runsc run` process) and of
// every task in its cpu cgroup (gofer, sandbox): "tid=nice" for each one that differs from ours
// (a cold sandbox's runsc inherits the backend's nice value).
std::vector<std::string> niced_tasks_of(const std::string& cid) {
  std::vector<std::string> tids;
  {
    std::ifstream in("/sys/fs/cgroup/cpu/" + kCgroupParent + "/" + cid + "/tasks");
    for (std::string t; in >> t;) tids.push_back(t);
  }
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::string cmd;
    try {
      std::ifstream in(e.path() / "cmdline");
      cmd.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } catch (const std::exception&) {
      continue;
    }
    if (cmd.find(cid) == std::string::npos) continue;
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator(e.path() / "task", ec))
      tids.push_back(t.path().filename().string());
  }
  std::vector<std::string> niced;
  const int ours = enclave::backends::gvisor::nice_of(::getpid());
  for (const auto& t : tids) {
    const int n = enclave::backends::gvisor::nice_of(std::stoi(t));
    if (n != ours && n != -100) niced.push_back(t + "=" + std::to_string(n));  // -100: gone
  }
  BOOST_TEST(tids.size() > 2u, "tasks of " << cid << " found");
  return niced;
}
}  // namespace

// Pool kernels boot at the lowest CPU priority (runsc at nice 19, cgroup cpu.shares 2) so that
// refilling the pool never slows a live run. A claimed one must end up exactly as a cold-started
// sandbox with the same limits: the same cgroup values, every host task at the backend's nice.
BOOST_AUTO_TEST_CASE(a_claimed_pool_kernel_ends_up_as_a_cold_one) {
  REQUIRE_RUNSC();
  ev::SessionSpec warm_spec = batch("import time\ntime.sleep(30)\n");
  warm_spec.mutable_limits()->set_cpu_millis(500);
  warm_spec.mutable_limits()->set_memory_mb(128);
  ev::SessionSpec cold_spec = warm_spec;
  cold_spec.mutable_limits()->set_disk_mb(16);  // the pool cannot serve this: cold start
  Run warm = launch(warm_spec);
  Run cold = launch(cold_spec);
  auto wu = env().log.next<eb::Started>(warm.id, 60s);
  auto cu = env().log.next<eb::Started>(cold.id, 60s);
  BOOST_REQUIRE(wu.has_value() && cu.has_value());
  const std::string w = wu->container_id, c = cu->container_id;
  BOOST_TEST(w != warm.id, "served by a pool kernel");
  for (const auto& [ctl, f] :
       std::vector<std::pair<std::string, std::string>>{{"cpu", "cpu.shares"},
                                                        {"cpu", "cpu.cfs_quota_us"},
                                                        {"cpu", "cpu.cfs_period_us"},
                                                        {"memory", "memory.limit_in_bytes"},
                                                        {"pids", "pids.max"}}) {
    BOOST_TEST(!cgroup_value(c, ctl, f).empty(), f);
    BOOST_TEST(cgroup_value(w, ctl, f) == cgroup_value(c, ctl, f), f);
  }
  BOOST_TEST(cgroup_value(w, "cpu", "cpu.shares") == "1024");
  BOOST_TEST(cgroup_value(w, "cpu", "cpu.cfs_quota_us") == "50000");
  BOOST_TEST(cgroup_value(w, "memory", "memory.limit_in_bytes") == std::to_string(128 << 20));
  const auto niced_warm = niced_tasks_of(w), niced_cold = niced_tasks_of(c);
  BOOST_TEST(niced_warm.empty(),
             niced_warm.size() << " tasks niced: " << (niced_warm.empty() ? "" : niced_warm[0]));
  BOOST_TEST(niced_cold.empty(),
             niced_cold.size() << " tasks niced: " << (niced_cold.empty() ? "" : niced_cold[0]));
  env().backend->kill(warm.id, "done");
  env().backend->kill(cold.id, "done");
  wait_end(&warm, 60s);
  wait_end(&cold, 60s);
}

BOOST_AUTO_TEST_CASE(zz_everything_is_removed_after_shutdown) {
  REQUIRE_RUNSC();
  shut_down_with_a_session_running_and_check_everything_removed();
}
