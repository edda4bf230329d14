// Pure parts of the gVisor backend: trace decoding, output capping, bundle text.
#define BOOST_TEST_MODULE gvisor_unit
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "backends/gvisor/egress_proxy.h"
#include "backends/gvisor/exit_report.h"
#include "backends/gvisor/oci_bundle.h"
#include "backends/gvisor/process.h"
#include "backends/gvisor/runsc_locks.h"
#include "backends/gvisor/sandbox.h"
#include "backends/gvisor/trace_sink.h"
#include "events/codec/json_string.h"

namespace g = enclave::backends::gvisor;

namespace {
std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}
}  // namespace

// Captured from runsc 20221219: connect(3, 169.254.169.254:80) by container "test1".
BOOST_AUTO_TEST_CASE(decodes_captured_ipv4_connect) {
  auto a = g::decode_connect_event(
      unhex("08000a00000000000a0732057465737431182a2003321002000050a9fea9fe0000000000000000"));
  BOOST_REQUIRE(a.has_value());
  BOOST_TEST(a->host == "169.254.169.254");
  BOOST_TEST(a->port == 80u);
}

BOOST_AUTO_TEST_CASE(ignores_unix_loopback_and_garbage) {
  // connect to /opt/io/r.sock (AF_UNIX), captured.
  BOOST_TEST(!g::decode_connect_event(
      unhex("08000a00000000000a0732057465737431182a2003321101002f6f70742f696f2f722e736f636b00")));
  // 127.0.0.1:3128
  BOOST_TEST(
      !g::decode_connect_event(unhex("08000a00000000000a0732057465737431182a200332100200"
                                     "0c387f0000010000000000000000")));
  BOOST_TEST(!g::decode_connect_event(""));
  BOOST_TEST(!g::decode_connect_event(unhex("08000a0000000000ffffffff")));
  BOOST_TEST(!g::decode_connect_event(unhex("08000b00000000003210020000500a000001")));  // type 11
}

BOOST_AUTO_TEST_CASE(decodes_ipv6_connect) {
  // sockaddr_in6: family 10, port 443, flowinfo 0, 2001:db8::1, scope 0
  const std::string addr =
      "0a0001bb00000000"
      "20010db8000000000000000000000001"
      "00000000";
  auto a =
      g::decode_connect_event(unhex("08000a0000000000"
                                    "18"
                                    "2a"
                                    "32"
                                    "1c" +
                                    addr));
  BOOST_REQUIRE(a.has_value());
  BOOST_TEST(a->host == "2001:db8::1");
  BOOST_TEST(a->port == 443u);
}

BOOST_AUTO_TEST_CASE(capped_stream_keeps_the_first_bytes_and_counts_all) {
  g::CappedStream s;
  s.cap = 5;
  BOOST_TEST(s.append("abc", 3) == "abc");
  BOOST_TEST(s.append("defg", 4) == "de");
  BOOST_TEST(s.append("h", 1) == "");
  BOOST_TEST(s.kept == "abcde");
  BOOST_TEST(s.total == 8u);
  BOOST_TEST(s.truncated());
}

BOOST_AUTO_TEST_CASE(bundle_has_only_the_given_env_and_locks_things_down) {
  g::BundleSpec b;
  b.rootfs = "/r";
  b.runtime_dir = "/rt";
  b.session_dir = "/s/io";
  b.args = {"/usr/bin/python3", "a\"b"};
  b.env = {{"PATH", "/usr/bin"}, {"X", "line\nbreak"}};
  b.tmp_mb = 16;
  b.nproc = 32;
  b.cgroups_path = "/enclave/abc";
  const std::string j = g::oci_config_json(b);
  BOOST_TEST(j.find("\"env\":[\"PATH=/usr/bin\",\"X=line\\nbreak\"]") != std::string::npos);
  BOOST_TEST(j.find("\"a\\\"b\"") != std::string::npos);
  BOOST_TEST(j.find("\"readonly\":true") != std::string::npos);
  BOOST_TEST(j.find("\"noNewPrivileges\":true") != std::string::npos);
  BOOST_TEST(j.find("\"uid\":65534") != std::string::npos);
  BOOST_TEST(j.find("RLIMIT_NPROC\",\"hard\":32,\"soft\":32") != std::string::npos);
  BOOST_TEST(j.find("size=16m") != std::string::npos);
  BOOST_TEST(j.find("\"cgroupsPath\":\"/enclave/abc\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(json_quote_escapes_controls) {
  BOOST_TEST(enclave::json_quote(std::string("a\x01\\\"", 4)) == "\"a\\u0001\\\\\\\"\"");
}

BOOST_AUTO_TEST_CASE(sha256_hex_of_abc) {
  BOOST_TEST(g::sha256_hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(allow_list_entries_parse) {
  using P = std::pair<std::string, uint32_t>;
  BOOST_TEST((g::split_host_port("Example.COM:443", 0) == P{"example.com", 443}));
  BOOST_TEST((g::split_host_port("[2001:db8::1]:8443", 0) == P{"2001:db8::1", 8443}));
  BOOST_TEST((g::split_host_port("example.com", 80) == P{"example.com", 80}));
  BOOST_TEST(g::split_host_port("example.com:0", 0).first.empty());
  BOOST_TEST(g::split_host_port("example.com:70000", 0).first.empty());
  BOOST_TEST(g::split_host_port("[::1", 0).first.empty());
  BOOST_TEST(g::split_host_port(":80", 0).first.empty());
}

// How a finished sandbox is reported, as a table of observations.
BOOST_AUTO_TEST_CASE(exit_reports) {
  auto exited = [](int code) { return code << 8; };  // waitpid status of a normal exit
  auto killed = [](int sig) { return sig; };         // ... of a death by signal
  struct Case {
    const char* name;
    g::ExitFacts facts;
    int exit_code;
    enclave::events::KillReason observed;
  };
  std::vector<Case> cases;
  auto add = [&](const char* name, auto tweak, int code, enclave::events::KillReason obs) {
    g::ExitFacts f;
    f.runner_connected = true;
    tweak(f);
    cases.push_back({name, std::move(f), code, obs});
  };
  using K = enclave::events::KillReason;
  add(
      "clean exit", [&](g::ExitFacts& f) { f.wait_status = exited(0); }, 0, K::KILL_REASON_NONE);
  add(
      "workload exit 3", [&](g::ExitFacts& f) { f.wait_status = exited(3); }, 3,
      K::KILL_REASON_NONE);
  add(
      "oom", [&](g::ExitFacts& f) { f.wait_status = exited(137), f.usage.oom_kills = 1; }, 137,
      K::KILL_REASON_MEMORY_EXCEEDED);
  add(
      "oom before the runner connected",
      [&](g::ExitFacts& f) {
        f.runner_connected = false, f.wait_status = exited(137), f.usage.oom_kills = 1;
      },
      137, K::KILL_REASON_MEMORY_EXCEEDED);
  add(
      "backstop",
      [&](g::ExitFacts& f) {
        f.kill_requested = f.killed_by_backstop = true, f.wait_status = exited(137);
      },
      137, K::KILL_REASON_WALL_CLOCK_EXCEEDED);
  add(
      "engine kill", [&](g::ExitFacts& f) { f.kill_requested = true, f.wait_status = exited(137); },
      137, K::KILL_REASON_NONE);
  add(
      "runsc run itself killed", [&](g::ExitFacts& f) { f.wait_status = killed(9); }, 137,
      K::KILL_REASON_NONE);
  add(
      "host pids backstop", [&](g::ExitFacts& f) { f.usage.pids_max_events = 2; }, 0,
      K::KILL_REASON_PIDS_EXCEEDED);
  add(
      "never came up",
      [&](g::ExitFacts& f) { f.runner_connected = false, f.wait_status = exited(1); }, -1,
      K::KILL_REASON_NONE);
  add(
      "could not be created", [&](g::ExitFacts& f) { f.start_error = "cgroup: EPERM"; }, -1,
      K::KILL_REASON_NONE);
  for (auto& c : cases) {
    const auto ex = g::report_exit(c.facts);
    BOOST_TEST(ex.exit.exit_code() == c.exit_code, c.name);
    BOOST_TEST(ex.exit.observed() == c.observed, c.name);
    if (c.exit_code == -1) BOOST_TEST(!ex.exit.detail().empty(), c.name);
  }
}

BOOST_AUTO_TEST_CASE(exit_report_carries_output_result_and_usage) {
  g::ExitFacts f;
  f.runner_connected = true;
  f.out.cap = f.err.cap = 4;
  f.out.append("hello", 5);
  f.err.append("e", 1);
  f.result_json = "{\"a\":1}";
  f.usage.cpu_ns = 900'000'000;
  f.cpu_ns_at_assign = 100'000'000;
  f.usage.peak_memory_bytes = 1 << 20;
  f.wall_ms = 42;
  f.turn_ms_total = 7;
  const auto ex = g::report_exit(f);
  BOOST_TEST(ex.exit.stdout() == "hell");
  BOOST_TEST(ex.exit.stdout_truncated());
  BOOST_TEST(ex.exit.stdout_bytes() == 5u);
  BOOST_TEST(ex.exit.stderr() == "e");
  BOOST_TEST(!ex.exit.stderr_truncated());
  BOOST_TEST(ex.exit.json() == "{\"a\":1}");
  BOOST_TEST(ex.usage.cpu_ms() == 800u);
  BOOST_TEST(ex.usage.peak_memory_bytes() == 1u << 20);
  BOOST_TEST(ex.usage.wall_ms() == 42u);
  BOOST_TEST(ex.usage.turn_ms_total() == 7u);
}

// runsc killed mid-create leaves `<id>_sandbox:<id>.lock` without its `.state`: only such lock
// files of accepted ids go; a lock with its state, other names and symlinks stay.
BOOST_AUTO_TEST_CASE(stale_runsc_lock_files_are_removed_and_nothing_else) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("runsc-locks-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string a(32, 'a'), b(32, 'b'), c(32, 'c'), k(32, 'd');
  auto touch = [&](const std::string& name) { std::ofstream(dir / name).put('\n'); };
  auto lock = [](const std::string& id) { return id + "_sandbox:" + id + ".lock"; };
  auto state = [](const std::string& id) { return id + "_sandbox:" + id + ".state"; };
  touch(lock(a));  // stale: goes
  touch(lock(b));  // stale: goes
  touch(lock(c));  // runsc still knows c: stays
  touch(state(c));
  touch(lock(k));       // stale but kept by the caller
  touch("notes.lock");  // not runsc's: stays
  touch(std::string(32, 'A') + "_sandbox:" + std::string(32, 'A') + ".lock");  // not hex: stays
  fs::create_symlink("/etc/hostname", dir / lock(std::string(32, 'e')));       // symlink: stays
  int n = g::remove_stale_runsc_locks(dir.string(), [&](const std::string& id) { return id != k; });
  BOOST_TEST(n == 2);
  BOOST_TEST(!fs::exists(dir / lock(a)));
  BOOST_TEST(!fs::exists(dir / lock(b)));
  BOOST_TEST(fs::exists(dir / lock(c)));
  BOOST_TEST(fs::exists(dir / state(c)));
  BOOST_TEST(fs::exists(dir / lock(k)));
  BOOST_TEST(fs::exists(dir / "notes.lock"));
  BOOST_TEST(fs::is_symlink(dir / lock(std::string(32, 'e'))));
  BOOST_TEST(fs::exists("/etc/hostname"));
  fs::remove_all(dir);
}

// Background runsc processes (pool boots, teardowns) start at the lowest priority, and a claimed
// pool kernel's tasks are reniced to a cold sandbox's 0, found by pid and by a cgroup tasks file.
BOOST_AUTO_TEST_CASE(background_commands_start_niced) {
  auto r = g::run_command({"/usr/bin/nice"}, std::chrono::seconds(10), g::kBackgroundNice);
  BOOST_TEST(r.exit_code == 0, r.output);
  BOOST_TEST(r.output == std::to_string(g::kBackgroundNice) + "\n");  // 19 is the ceiling
  // Without it, the command runs at ours (the test itself may run under `nice`).
  auto plain = g::run_command({"/usr/bin/nice"}, std::chrono::seconds(10));
  BOOST_TEST(plain.output == std::to_string(g::nice_of(0)) + "\n");
}

BOOST_AUTO_TEST_CASE(renice_tasks_resets_a_niced_child_by_pid_and_by_tasks_file) {
  if (::geteuid() != 0) return;  // raising a priority needs CAP_SYS_NICE
  for (bool by_file : {false, true}) {
    int in[2], out[2];
    BOOST_REQUIRE(::pipe2(in, O_CLOEXEC) == 0 && ::pipe2(out, O_CLOEXEC) == 0);
    std::string err;
    const pid_t pid =
        g::spawn({"/bin/sh", "-c", "echo ready; read x"}, in[0], out[1], -1, &err, 19);
    ::close(in[0]), ::close(out[1]);
    BOOST_REQUIRE_MESSAGE(pid > 0, err);
    char buf[16] = {};
    BOOST_REQUIRE(::read(out[0], buf, sizeof buf) > 0);  // the shell runs, niced
    BOOST_TEST(g::nice_of(pid) == 19);
    const std::string tasks = "/tmp/enclave-renice-" + std::to_string(::getpid());
    { std::ofstream(tasks) << "junk\n" << pid << "\n"; }
    const int n = by_file ? g::renice_tasks(-1, tasks, 0) : g::renice_tasks(pid, "", 0);
    BOOST_TEST(n == 1);
    BOOST_TEST(g::nice_of(pid) == 0);
    BOOST_TEST(g::renice_tasks(pid, tasks, 0) == 0, "nothing left to change");
    std::filesystem::remove(tasks);
    ::close(in[1]), ::close(out[0]);
    int status = 0;
    g::wait_child(pid, &status, 0);
  }
}
