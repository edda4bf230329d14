// One shape per fact: a state and its snapshot are tied by the one list in events/snapshot.h.
// Every snapshot field is listed, every listed member survives the round trip, and snapshots
// written before the list existed (the bytes below, from the hand-written copy it replaced) still
// load to the same state.
#include <google/protobuf/util/message_differencer.h>

#include <boost/test/unit_test.hpp>
#include <map>
#include <set>

#include "events/ids.h"
#include "events/snapshot.h"

using namespace enclave;

namespace {

// Every member set to a value other than its default, so a member the snapshot drops shows.
enclave::session::State full_session() {
  using namespace enclave;
  session::State s;
  s.exists = true;
  s.id = std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
  s.org_id = "acme";
  s.created_by = "key-1";
  s.spec.set_code("print(1)");
  s.spec.set_language("python");
  s.spec.set_exec_mode(events::EXEC_MODE_INTERACTIVE);
  s.spec.set_name("job");
  s.phase = session::Phase::kKilled;
  s.last_seq = 12;
  s.created_at_ms = 1000;
  s.admitted_at_ms = 1001;
  s.started_at_ms = 1002;
  s.ended_at_ms = 1003;
  s.last_activity_ms = 1004;
  s.queue_recorded = true;
  s.ticket = 7;
  s.admitted = true;
  s.grant = 8;
  s.kill_reason = events::KILL_REASON_IDLE_TIMEOUT;
  s.kill_detail = "idle";
  s.exited = true;
  s.exit_code = -9;
  s.stdout_text = "out\n";
  s.stderr_text = "err\n";
  s.json = "{\"a\":1}";
  s.stdout_truncated = true;
  s.stderr_truncated = true;
  s.exit_detail = "signal 9";
  s.turns = 3;
  s.turn_ms_total = 30;
  s.cpu_ms = 25;
  s.egress_denied = 2;
  s.egress_allowed = 5;
  s.usage_recorded = true;
  s.usage.set_wall_ms(40);
  s.usage.set_cpu_ms(25);
  s.usage.set_peak_memory_bytes(1 << 20);
  s.usage.set_turn_ms_total(30);
  s.torn_down = true;
  s.container_id = "enclave-0102";
  s.teardown_incomplete = "cgroup";
  s.teardown_attempts = 2;
  return s;
}

enclave::fleet::State full_fleet() {
  using namespace enclave;
  fleet::State f;
  f.exists = true;
  f.id = std::string(16, '\x22');
  f.org_id = "acme";
  f.created_by = "key-1";
  f.name = "grid";
  f.created_at_ms = 2000;
  f.last_seq = 2;
  f.member_ids = {std::string(16, '\x31'), std::string(16, '\x32'), std::string(16, '\x33')};
  f.member_phases = {session::Phase::kSucceeded, session::Phase::kFailed, session::Phase::kRunning};
  f.counts = fleet::count_phases(f.member_phases);
  f.torn_down = true;
  return f;
}

// snapshot::of(full_session()) and of(full_fleet()) as the field-by-field copy wrote them.
const char* const kOldSessionSnapshot =
    "0a100102030405060708090a0b0c0d0e0f10120461636d651a056b65792d3122190a087072696e7428312912067079"
    "74686f6e180142036a6f622805300c38e80740e90748ea0750eb0758ec0760016807700178088001028a010469646c"
    "65900101980101a001f7ffffffffffffffff01aa01046f75740ab201046572720aba01077b2261223a317dc00101c8"
    "0101d201087369676e616c2039d80103e0011ee80102f00101fa010a0828101918808040201e800201a00605880719"
    "b2090c656e636c6176652d30313032ba09066367726f7570c00902";
const char* const kOldFleetSnapshot =
    "0a1022222222222222222222222222222222120461636d651a056b65792d3122046772696428d00f30023a10313131"
    "313131313131313131313131313a10323232323232323232323232323232323a103333333333333333333333333333"
    "333342030304024801";

// The field names a list visits ("has_x" too for an optional member).
struct Names {
  std::multiset<std::string>* out;
  template <class T>
  void operator()(const char* n, const T& v) {
    out->insert(n);
    if constexpr (std::is_same_v<T, std::optional<int32_t>>) out->insert(std::string("has_") + n);
  }
};

std::multiset<std::string> proto_fields(const google::protobuf::Descriptor* d) {
  std::multiset<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) names.insert(d->field(i)->name());
  return names;
}

std::string bytes_of_hex(const std::string& hex) {
  std::string b;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    b.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return b;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(snapshot_shape)

BOOST_AUTO_TEST_CASE(every_snapshot_field_is_listed_once) {
  std::multiset<std::string> seen;
  const session::State s;
  snapshot::session_fields(s, Names{&seen});
  BOOST_CHECK(seen == proto_fields(events::SessionSnapshot::descriptor()));
  std::multiset<std::string> fleet_seen;
  const fleet::State f;
  snapshot::fleet_fields(f, Names{&fleet_seen});
  BOOST_CHECK(fleet_seen == proto_fields(events::FleetSnapshot::descriptor()));
}

BOOST_AUTO_TEST_CASE(every_listed_member_survives_the_round_trip) {
  // The pause members (issue 19) are set here, not in full_session(): the bytes of
  // kOldSessionSnapshot were written before they existed.
  session::State s = full_session();
  s.paused_at_ms = 1999;
  s.paused_ms_total = 77;
  s.snapshot_id = "snap-1";
  s.snapshot_sha256 = std::string(64, 'a');
  s.snapshot_bytes = 4096;
  s.snapshot_taken_at_ms = 1998;
  s.restore_on_admit = true;
  s.cpu_offset_ms = 12;
  s.forked_from = std::string(16, '\x22');
  s.pause_reason = "idle";
  const events::SessionSnapshot p = snapshot::of(s);
  // Every field of the snapshot carries something (full_session sets every member).
  std::vector<const google::protobuf::FieldDescriptor*> set;
  p.GetReflection()->ListFields(p, &set);
  BOOST_CHECK_EQUAL(set.size(), static_cast<size_t>(p.GetDescriptor()->field_count()));
  const session::State back = snapshot::session_from(p);
  BOOST_CHECK(back.exists);
  BOOST_CHECK(google::protobuf::util::MessageDifferencer::Equals(snapshot::of(back), p));
  BOOST_CHECK(back.exit_code == std::optional<int32_t>(-9));
  BOOST_CHECK(back.phase == session::Phase::kKilled);
  BOOST_CHECK_EQUAL(back.kill_reason, events::KILL_REASON_IDLE_TIMEOUT);
  BOOST_CHECK_EQUAL(back.usage.peak_memory_bytes(), 1u << 20);

  const fleet::State f = full_fleet();
  const fleet::State fb = snapshot::fleet_from(snapshot::of(f));
  BOOST_CHECK(fb.exists);
  BOOST_CHECK(fb.member_ids == f.member_ids);
  BOOST_CHECK(fb.member_phases == f.member_phases);
  BOOST_CHECK_EQUAL(fb.counts.succeeded, 1u);
  BOOST_CHECK_EQUAL(fb.counts.failed, 1u);
  BOOST_CHECK_EQUAL(fb.counts.running, 1u);
  BOOST_CHECK_EQUAL(snapshot::of(fb).SerializeAsString(), snapshot::of(f).SerializeAsString());
}

BOOST_AUTO_TEST_CASE(an_unset_exit_code_stays_unset) {
  session::State s = full_session();
  s.exit_code.reset();
  BOOST_CHECK(!snapshot::session_from(snapshot::of(s)).exit_code.has_value());
  BOOST_CHECK(!snapshot::session_from(events::SessionSnapshot{}).exists);
}

BOOST_AUTO_TEST_CASE(snapshots_on_disk_from_before_still_load) {
  events::SessionSnapshot old;
  BOOST_REQUIRE(old.ParseFromString(bytes_of_hex(kOldSessionSnapshot)));
  // The same bytes are written today, and they load to the state they were written from.
  BOOST_CHECK_EQUAL(to_hex(snapshot::of(full_session()).SerializeAsString()), kOldSessionSnapshot);
  const session::State s = snapshot::session_from(old);
  BOOST_CHECK(google::protobuf::util::MessageDifferencer::Equals(snapshot::of(s),
                                                                 snapshot::of(full_session())));
  BOOST_CHECK_EQUAL(s.container_id, "enclave-0102");
  BOOST_CHECK_EQUAL(s.teardown_attempts, 2u);

  events::FleetSnapshot old_fleet;
  BOOST_REQUIRE(old_fleet.ParseFromString(bytes_of_hex(kOldFleetSnapshot)));
  BOOST_CHECK_EQUAL(to_hex(snapshot::of(full_fleet()).SerializeAsString()), kOldFleetSnapshot);
  const fleet::State f = snapshot::fleet_from(old_fleet);
  BOOST_CHECK_EQUAL(f.name, "grid");
  BOOST_CHECK_EQUAL(f.counts.total(), 3u);
}

BOOST_AUTO_TEST_SUITE_END()
