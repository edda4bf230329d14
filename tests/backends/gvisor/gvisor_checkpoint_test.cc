// gVisor checkpoint/restore against the real runsc (as root): a paused kernel leaves no sandbox
// and comes back with its namespace; a snapshot leaves the source running and restores into
// independent copies; a tampered or oversized image is refused before runsc reads it.
#define BOOST_TEST_MODULE gvisor_checkpoint
#include <fstream>

#include "tests/backends/gvisor/gvisor_fixture.h"

namespace {

ev::SessionSpec interactive() {
  auto spec = batch("");
  spec.set_exec_mode(ev::EXEC_MODE_INTERACTIVE);
  return spec;
}

ev::ExecTurn turn(const std::string& id, uint32_t n, const std::string& code) {
  env().backend->exec_turn(id, n, code, 10000);
  auto d = env().log.next<eb::TurnDone>(id, 30s);
  BOOST_REQUIRE_MESSAGE(d.has_value(), "no TurnDone for turn " << n);
  return d->turn;
}

eb::Checkpointed checkpoint(const std::string& id, const std::string& dir, bool leave_running) {
  env().backend->checkpoint(id, dir, leave_running);
  auto c = env().log.next<eb::Checkpointed>(id, 60s);
  BOOST_REQUIRE_MESSAGE(c.has_value(), "no Checkpointed for " << id);
  return *c;
}

bool runsc_knows(const std::string& cid) {
  auto c = gvisor_test::test_config();
  auto r = enclave::backends::gvisor::run_command(
      {c.runsc_path, "--root=" + c.state_dir, "--network=none", "--platform=ptrace", "list",
       "-quiet"},
      10s);
  return r.output.find(cid) != std::string::npos;
}

const std::string kImages = gvisor_test::kWorkDir + "/images";

}  // namespace

BOOST_AUTO_TEST_CASE(pause_then_restore_keeps_the_namespace) {
  REQUIRE_RUNSC();
  Run r = launch(interactive());
  BOOST_REQUIRE(env().log.next<eb::Started>(r.id, 30s).has_value());
  const std::string cid = env().log.container_of(r.id);
  BOOST_TEST(turn(r.id, 1, "x = 41\n").exit_code() == 0);

  const auto t0 = Clock::now();
  auto c = checkpoint(r.id, kImages + "/p1", false);
  const auto pause_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  BOOST_REQUIRE_MESSAGE(c.error.empty(), c.error);
  BOOST_TEST(!c.running);
  BOOST_TEST(c.bytes > 0u);
  BOOST_TEST(c.sha256.size() == 64u);
  std::cerr << "pause: " << pause_ms.count() << " ms, image " << c.bytes << " bytes\n";

  // The paused sandbox is gone (its teardown runs after Checkpointed) and reports nothing more.
  for (int i = 0; i < 100 && runsc_knows(cid); ++i) std::this_thread::sleep_for(50ms);
  BOOST_TEST(!runsc_knows(cid));

  const auto t1 = Clock::now();
  env().backend->restore(eb::LaunchSpec{r.id, interactive()}, c.image_dir, c.sha256, 512ull << 20);
  auto up = env().log.next<eb::Started>(r.id, 30s);
  BOOST_REQUIRE(up.has_value());
  BOOST_TEST(up->container_id != cid);
  auto t2 = turn(r.id, 2, "x += 1\nprint(x)\n");
  std::cerr << "restore → first turn done: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t1).count()
            << " ms\n";
  BOOST_TEST(t2.stdout() == "42\n");
  BOOST_TEST(t2.exit_code() == 0);
  env().backend->kill(r.id, "test over");
  wait_end(&r);
}

BOOST_AUTO_TEST_CASE(snapshot_leaves_the_source_running_and_forks_are_independent) {
  REQUIRE_RUNSC();
  Run r = launch(interactive());
  BOOST_REQUIRE(env().log.next<eb::Started>(r.id, 30s).has_value());
  BOOST_TEST(turn(r.id, 1, "x = 41\n").exit_code() == 0);
  auto c = checkpoint(r.id, kImages + "/s1", true);
  BOOST_REQUIRE_MESSAGE(c.error.empty(), c.error);
  BOOST_TEST(c.running);
  std::vector<Run> kids(2);
  for (auto& k : kids) {
    k.id = gvisor_test::new_id();
    env().backend->restore(eb::LaunchSpec{k.id, interactive()}, c.image_dir, c.sha256,
                           512ull << 20);
  }
  for (size_t i = 0; i < kids.size(); ++i) {
    BOOST_REQUIRE(env().log.next<eb::Started>(kids[i].id, 30s).has_value());
    auto t = turn(kids[i].id, 2, "x += " + std::to_string(10 * (i + 1)) + "\nprint(x)\n");
    BOOST_TEST(t.stdout() == std::to_string(41 + 10 * (i + 1)) + "\n");
  }
  BOOST_TEST(turn(r.id, 2, "print(x)\n").stdout() == "41\n");
  for (auto* x : {&r, &kids[0], &kids[1]}) env().backend->kill(x->id, "test over");
  for (auto* x : {&r, &kids[0], &kids[1]}) wait_end(x);
}

BOOST_AUTO_TEST_CASE(a_tampered_or_oversized_image_is_refused) {
  REQUIRE_RUNSC();
  Run r = launch(interactive());
  BOOST_REQUIRE(env().log.next<eb::Started>(r.id, 30s).has_value());
  auto c = checkpoint(r.id, kImages + "/t1", false);
  BOOST_REQUIRE_MESSAGE(c.error.empty(), c.error);
  {
    // A clean copy restores; the same bytes with one flipped do not.
    std::fstream f(c.image_dir + "/checkpoint.img",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(c.bytes / 2));
    f.put('\x5a');
  }
  Run tampered;
  tampered.id = gvisor_test::new_id();
  env().backend->restore(eb::LaunchSpec{tampered.id, interactive()}, c.image_dir, c.sha256,
                         512ull << 20);
  wait_end(&tampered);
  BOOST_TEST(tampered.exited.exit.exit_code() == -1);
  BOOST_TEST(tampered.exited.exit.detail().find("checkpoint image refused") != std::string::npos);
  Run oversized;
  oversized.id = gvisor_test::new_id();
  env().backend->restore(eb::LaunchSpec{oversized.id, interactive()}, c.image_dir, c.sha256, 16);
  wait_end(&oversized);
  BOOST_TEST(oversized.exited.exit.detail().find("over the bound") != std::string::npos);
}
