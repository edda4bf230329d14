// LiveOutputCap (backends/live_output_cap.h): live output forwarded per stream never exceeds the
// stored cap, whatever is forged; the first dropped chunk becomes one truncation marker.
#include "backends/live_output_cap.h"

#include <boost/test/unit_test.hpp>

using enclave::backends::LiveOutputCap;
using enclave::backends::Output;

BOOST_AUTO_TEST_SUITE(live_output_cap)

BOOST_AUTO_TEST_CASE(a_forged_flood_is_cut_at_the_cap_and_marked_once) {
  LiveOutputCap cap(10);
  uint64_t forwarded = 0;
  int markers = 0;
  for (int i = 0; i < 1000; ++i) {  // 4,000 bytes "forged" against a 10-byte cap
    for (const Output& o : cap.admit("stdout", "ESCA", 3)) {
      forwarded += o.data.size();
      markers += o.truncated;
      BOOST_TEST(o.turn == 3u);
      BOOST_TEST(o.stream == "stdout");
      BOOST_TEST((o.truncated ? o.data.empty() : !o.data.empty()));
    }
  }
  BOOST_TEST(forwarded == 10u);
  BOOST_TEST(markers == 1);
  BOOST_TEST(cap.truncated("stdout"));
  BOOST_TEST(!cap.truncated("stderr"));
}

BOOST_AUTO_TEST_CASE(streams_are_counted_apart_and_a_turn_resets_them) {
  LiveOutputCap cap(4);
  auto a = cap.admit("stdout", "abcdef", 1);  // 4 kept, then the marker
  BOOST_REQUIRE(a.size() == 2u);
  BOOST_TEST(a[0].data == "abcd");
  BOOST_TEST(a[1].truncated);
  auto b = cap.admit("stderr", "xy", 1);  // stderr has its own room
  BOOST_REQUIRE(b.size() == 1u);
  BOOST_TEST(b[0].data == "xy");
  BOOST_TEST(cap.admit("stdout", "more", 1).empty());
  cap.reset();
  auto c = cap.admit("stdout", "abcd", 2);  // exactly the cap: no marker
  BOOST_REQUIRE(c.size() == 1u);
  BOOST_TEST(!c[0].truncated);
  BOOST_TEST(cap.sent("stdout") == 4u);
  auto d = cap.admit("stdout", "e", 2);  // one byte over: only the marker
  BOOST_REQUIRE(d.size() == 1u);
  BOOST_TEST(d[0].truncated);
}

BOOST_AUTO_TEST_SUITE_END()
