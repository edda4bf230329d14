// Snapshots and checkpoints: one more input to the same fold. A clean restart folds nothing
// after the checkpoint; ended sessions are answered from their snapshots; a damaged snapshot or
// checkpoint is ignored (the log is the truth) and the answers stay the same.
#include "events/snapshot.h"

#include <google/protobuf/util/json_util.h>

#include <boost/test/unit_test.hpp>

#include "actors/read_model.h"
#include "events/ids.h"
#include "events/views/api_views.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

namespace {

std::string json_of(const session::State& s) {
  std::string j;
  (void)google::protobuf::util::MessageToJsonString(views::session(s), &j);
  return j;
}

// A data dir with ended sessions, one still running, and a fleet; returns the live views.
std::map<std::string, std::string> record(const std::string& dir, std::string* fleet_hex) {
  auto engine = open_engine(dir, 4);
  const Principal p = default_principal();
  api::CreateFleetRequest fr;
  for (int i = 0; i < 5; ++i) *fr.add_members() = batch("print(" + std::to_string(i) + ")");
  auto f = call<api::Fleet>([&](auto cb) { engine->create_fleet(p, fr, cb); });
  *fleet_hex = f->id();
  BOOST_REQUIRE(call<api::Session>([&](auto cb) {
                  engine->create_session(p, batch("sys.exit(2)"), cb);
                }).ok());
  auto live =
      call<api::Session>([&](auto cb) { engine->create_session(p, batch("#@sim hang"), cb); });
  BOOST_REQUIRE(wait_until([&] {
    auto l = engine->list_sessions(p, {});
    int ended = 0;
    for (const auto& s : l->sessions()) ended += s.torn_down();
    return ended == 6 && engine->get_session(p, live->id())->phase() == "running";
  }));
  std::map<std::string, std::string> views;
  auto l = engine->list_sessions(p, {});
  for (const auto& s : l->sessions()) {
    std::string j;
    (void)google::protobuf::util::MessageToJsonString(s, &j);
    views[s.id()] = j;
  }
  return views;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(snapshots)

BOOST_AUTO_TEST_CASE(snapshot_round_trip_is_lossless) {
  TempDir dir;
  std::string fid;
  record(dir.path(), &fid);
  auto log = storage::EventLog::open(testing::log_dir_of(dir.path()), storage::OpenMode::kReadOnly);
  for (const auto& [id, head] : (*log)->heads()) {
    auto events = (*log)->read_stream(id);
    if (!events->front().envelope.has_session_created()) continue;
    session::State s;
    for (const auto& e : *events) {
      s = session::apply(std::move(s), e.envelope);
      auto back = snapshot::session_from(snapshot::of(s));
      BOOST_CHECK_EQUAL(json_of(back), json_of(s));
      BOOST_CHECK_EQUAL(snapshot::of(back).SerializeAsString(),
                        snapshot::of(s).SerializeAsString());
    }
  }
}

BOOST_AUTO_TEST_CASE(clean_restart_folds_nothing_and_answers_the_same) {
  TempDir dir;
  std::string fid;
  auto before = record(dir.path(), &fid);
  auto log = storage::EventLog::open(testing::log_dir_of(dir.path()), storage::OpenMode::kReadOnly);
  ReadModel m(log->get());
  std::string warning;
  uint64_t at = m.load(&warning);
  BOOST_CHECK(warning.empty());
  BOOST_CHECK_EQUAL(at, (*log)->last_global_seq());  // nothing left to fold
  BOOST_CHECK_EQUAL(m.live_count(), 1u);             // only the running session is in memory
  for (const auto& [hex, view] : before)
    BOOST_CHECK_EQUAL(json_of(*m.session(*from_hex_id(hex))), view);
  auto f = m.fleet(*from_hex_id(fid));
  BOOST_REQUIRE(f);
  BOOST_CHECK_EQUAL(fleet::phase_name(fleet::aggregate(fleet::counts(*f))), "completed");
  BOOST_CHECK_GE(m.counters().sessions_created, 7u);
}

BOOST_AUTO_TEST_CASE(damaged_snapshots_and_checkpoint_are_ignored) {
  TempDir dir;
  std::string fid;
  auto before = record(dir.path(), &fid);
  {
    auto log =
        storage::EventLog::open(testing::log_dir_of(dir.path()), storage::OpenMode::kReadWrite);
    for (const auto& [hex, view] : before)
      BOOST_REQUIRE((*log)->put_snapshot(*from_hex_id(hex), "garbage").ok());
    BOOST_REQUIRE((*log)->put_snapshot(*from_hex_id(fid), "garbage").ok());
    BOOST_REQUIRE((*log)->put_snapshot(std::string("\0checkpoint", 11), "garbage").ok());
  }
  auto log = storage::EventLog::open(testing::log_dir_of(dir.path()), storage::OpenMode::kReadOnly);
  ReadModel m(log->get());
  std::string warning;
  BOOST_CHECK_EQUAL(m.load(&warning), 0u);
  BOOST_CHECK(!warning.empty());
  (void)(*log)->scan_global(1, [&](const storage::Stored& s) {
    m.apply(s);
    return true;
  });
  for (const auto& [hex, view] : before)
    BOOST_CHECK_EQUAL(json_of(*m.session(*from_hex_id(hex))), view);
  BOOST_CHECK(m.fleet(*from_hex_id(fid)));
}

BOOST_AUTO_TEST_CASE(engine_restarts_from_its_checkpoint) {
  TempDir dir;
  std::string fid;
  auto before = record(dir.path(), &fid);
  auto engine = open_engine(dir.path(), 4);
  const Principal p = default_principal();
  for (const auto& [hex, view] : before) {
    auto s = engine->get_session(p, hex);
    BOOST_REQUIRE(s.ok());
    if (view.find("\"phase\":\"running\"") != std::string::npos) continue;  // recovery ends it
    std::string j;
    (void)google::protobuf::util::MessageToJsonString(*s, &j);
    BOOST_CHECK_EQUAL(j, view);
  }
  auto page = engine->list_sessions(p, {fid, "", 2, ""});
  BOOST_REQUIRE(page.ok());
  BOOST_CHECK_EQUAL(page->sessions_size(), 2);
  BOOST_CHECK(!page->next_cursor().empty());
  auto rest = engine->list_sessions(p, {fid, "", 10, page->next_cursor()});
  BOOST_CHECK_EQUAL(rest->sessions_size(), 3);
}

BOOST_AUTO_TEST_SUITE_END()
