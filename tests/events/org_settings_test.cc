// Orgs' admission settings: the fold of OrgSettingsSet (last wins, hostile values clamped) and
// the bounds `enclaved orgs set` enforces.
#include "events/org_settings.h"

#include <boost/test/unit_test.hpp>

using namespace enclave;

BOOST_AUTO_TEST_SUITE(org_settings_fold)

namespace {

events::Envelope set_event(uint64_t seq, const std::string& org, uint32_t w, uint32_t q,
                           uint32_t l) {
  events::Envelope e;
  e.set_seq(seq);
  auto* o = e.mutable_org_settings_set();
  o->set_org_id(org);
  o->set_weight(w);
  o->set_max_queued(q);
  o->set_max_live(l);
  return e;
}

}  // namespace

BOOST_AUTO_TEST_CASE(last_setting_wins_and_unset_orgs_get_defaults) {
  org_settings::State s;
  s = org_settings::apply(std::move(s), set_event(1, "acme", 2, 100, 5));
  s = org_settings::apply(std::move(s), set_event(2, "acme", 3, 0, 5));
  s = org_settings::apply(std::move(s), set_event(3, "globex", 1, 7, 0));
  BOOST_CHECK_EQUAL(s.last_seq, 3u);
  auto a = org_settings::of(s, "acme");
  BOOST_CHECK_EQUAL(a.weight, 3u);
  BOOST_CHECK_EQUAL(a.max_queued, 0u);
  BOOST_CHECK_EQUAL(a.max_live, 5u);
  auto d = org_settings::of(s, "nobody");
  BOOST_CHECK_EQUAL(d.weight, 1u);
  BOOST_CHECK_EQUAL(d.max_queued, 0u);
  BOOST_CHECK_EQUAL(d.max_live, 0u);
}

BOOST_AUTO_TEST_CASE(hostile_values_in_the_log_are_clamped_or_ignored) {
  org_settings::State s;
  s = org_settings::apply(std::move(s), set_event(1, "acme", 0, UINT32_MAX, UINT32_MAX));
  s = org_settings::apply(std::move(s), set_event(2, "bad org/../", 5, 5, 5));
  s = org_settings::apply(std::move(s), set_event(3, "big", UINT32_MAX, 1, 1));
  auto a = org_settings::of(s, "acme");
  BOOST_CHECK_EQUAL(a.weight, 1u);  // 0 would stall its turn
  BOOST_CHECK_EQUAL(a.max_queued, org_settings::kMaxQueued);
  BOOST_CHECK_EQUAL(a.max_live, org_settings::kMaxLive);
  BOOST_CHECK(!s.by_org.count("bad org/../"));
  BOOST_CHECK_EQUAL(org_settings::of(s, "big").weight, org_settings::kMaxWeight);
  BOOST_CHECK_EQUAL(s.last_seq, 3u);
}

BOOST_AUTO_TEST_CASE(change_checks_each_bound_and_names_the_field) {
  struct Row {
    std::optional<int64_t> weight, max_queued, max_live;
    std::string field;  // empty: accepted
  };
  const std::vector<Row> table = {
      {1, 0, 0, ""},
      {1000, 10'000'000, 100'000, ""},
      {0, {}, {}, "weight"},
      {1001, {}, {}, "weight"},
      {{}, -1, {}, "maxQueued"},
      {{}, 10'000'001, {}, "maxQueued"},
      {{}, {}, -1, "maxLive"},
      {{}, {}, 100'001, "maxLive"},
  };
  for (const auto& row : table) {
    auto r = org_settings::change({}, row.weight, row.max_queued, row.max_live);
    if (row.field.empty()) {
      BOOST_CHECK(r.ok());
    } else {
      BOOST_REQUIRE(!r.ok());
      BOOST_CHECK_EQUAL(r.error().field, row.field);
      BOOST_CHECK(r.error().code == ErrorCode::kInvalidArgument);
    }
  }
  // Only the given fields change.
  auto r = org_settings::change({4, 50, 6}, {}, 70, {});
  BOOST_REQUIRE(r.ok());
  BOOST_CHECK_EQUAL(r->weight, 4u);
  BOOST_CHECK_EQUAL(r->max_queued, 70u);
  BOOST_CHECK_EQUAL(r->max_live, 6u);
  BOOST_CHECK(org_settings::valid_org("acme_1-x"));
  BOOST_CHECK(!org_settings::valid_org(""));
  BOOST_CHECK(!org_settings::valid_org(std::string(65, 'a')));
  BOOST_CHECK(!org_settings::valid_org("a b"));
}

BOOST_AUTO_TEST_SUITE_END()
