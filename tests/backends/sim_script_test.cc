// The simulator's script: directives and the few literal Python statements it understands.
#include "backends/simulator/sim_script.h"

#include <boost/test/unit_test.hpp>

using namespace enclave::backends::sim;

BOOST_AUTO_TEST_SUITE(sim_script)

BOOST_AUTO_TEST_CASE(directives) {
  auto s = parse(
      "x = 1\n#@sim sleep_ms=40 exit=3\n#@sim stdout=\"a \\\"b\\\"\"\n"
      "#@sim result={\"shard\": 2, \"value\": 5}\n#@sim egress=169.254.169.254:80\n#@sim hang\n");
  BOOST_CHECK_EQUAL(*s.sleep_ms, 40);
  BOOST_CHECK_EQUAL(s.exit_code, 3);
  BOOST_CHECK_EQUAL(s.stdout_text, "a \"b\"\n");
  BOOST_CHECK_EQUAL(s.result_json, "{\"shard\": 2, \"value\": 5}");
  BOOST_REQUIRE_EQUAL(s.egress.size(), 1u);
  BOOST_CHECK_EQUAL(s.egress[0].first, "169.254.169.254");
  BOOST_CHECK_EQUAL(s.egress[0].second, 80u);
  BOOST_CHECK(s.hang);
}

BOOST_AUTO_TEST_CASE(teardown_left_counts_failed_removals) {
  BOOST_CHECK_EQUAL(parse("#@sim teardown_left=2\n").teardown_left, 2);
  BOOST_CHECK_EQUAL(parse("#@sim teardown_left=-3\n").teardown_left, 0);  // never negative
  BOOST_CHECK_EQUAL(parse("print(1)\n").teardown_left, 0);
}

BOOST_AUTO_TEST_CASE(literal_python) {
  auto s = parse("print(7)\nprint('hi')\nenclave.result({'v': 5, 'ok': True, 'n': None})\n");
  BOOST_CHECK_EQUAL(s.stdout_text, "7\nhi\n");
  BOOST_CHECK_EQUAL(s.result_json, "{\"v\": 5, \"ok\": true, \"n\": null}");
  BOOST_CHECK_EQUAL(parse("import sys\nsys.exit(4)\n").exit_code, 4);
  BOOST_CHECK_EQUAL(parse("raise ValueError('x')\n").exit_code, 1);
  BOOST_CHECK(!python_literal_to_json("x + 1"));
  BOOST_CHECK(parse("print(x)\n").stdout_text.empty());  // a name, not a literal: unknown
}

BOOST_AUTO_TEST_SUITE_END()
