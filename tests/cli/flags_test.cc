// cli/flags.h: the one flag parser of `enclave` and `enclaved`.
#define BOOST_TEST_MODULE flags
#include "cli/flags.h"

#include <boost/test/unit_test.hpp>

using namespace enclave::cli;

BOOST_AUTO_TEST_CASE(valued_switch_and_positional) {
  auto o = parse_options({"serve", "--listen", "127.0.0.1:0", "--data-dir=/d", "--metrics-public",
                          "--listen", "[::1]:9"},
                         {"listen", "data-dir"}, {"metrics-public"});
  BOOST_REQUIRE(o.error.empty());
  BOOST_CHECK_EQUAL(o.positional.size(), 1u);
  BOOST_CHECK_EQUAL(o.positional[0], "serve");
  BOOST_CHECK_EQUAL(o.get("listen"), "[::1]:9");  // the last one given wins
  BOOST_CHECK_EQUAL(o.all("listen").size(), 2u);
  BOOST_CHECK_EQUAL(o.get("data-dir"), "/d");
  BOOST_CHECK(o.flag("metrics-public"));
  BOOST_CHECK(!o.has("absent"));
  BOOST_CHECK_EQUAL(o.get("absent", "dflt"), "dflt");
}

BOOST_AUTO_TEST_CASE(errors_name_the_flag) {
  BOOST_CHECK_EQUAL(parse_options({"--listen"}, {"listen"}, {}).error, "--listen needs a value");
  BOOST_CHECK_EQUAL(parse_options({"--metrics-public=1"}, {}, {"metrics-public"}).error,
                    "--metrics-public takes no value");
  BOOST_CHECK_EQUAL(parse_options({"--max-concurency", "3"}, {"max-concurrency"}, {}).error,
                    "unknown option --max-concurency (did you mean --max-concurrency?)");
  BOOST_CHECK_EQUAL(parse_options({"--zzzzzzzz"}, {"listen"}, {}).error,
                    "unknown option --zzzzzzzz");
}

BOOST_AUTO_TEST_CASE(double_dash_ends_options) {
  auto o = parse_options({"--", "--listen", "-"}, {"listen"}, {});
  BOOST_REQUIRE(o.error.empty());
  BOOST_CHECK_EQUAL(o.positional.size(), 2u);
  BOOST_CHECK(!o.has("listen"));
  BOOST_CHECK(wants_help({"x", "-h"}));
  BOOST_CHECK(wants_help({"--help"}));
  BOOST_CHECK(!wants_help({"--", "--help"}));
}

BOOST_AUTO_TEST_CASE(output_convention_only_with_json) {
  auto o = parse_options({"--output", "json"}, {}, {"json"});
  BOOST_CHECK(o.error.empty());
  BOOST_CHECK(o.flag("json"));
  BOOST_CHECK(!parse_options({"--output", "json"}, {}, {}).error.empty());
}

// One comma-list splitter for every list-valued setting (--warm-pool, --allow-origin, …) and
// `images build --debian-packages`: empty items are dropped, order is kept.
BOOST_AUTO_TEST_CASE(split_list_keeps_the_non_empty_items_in_order) {
  BOOST_TEST((split_list("a,b,,c,") == std::vector<std::string>{"a", "b", "c"}));
  BOOST_TEST(split_list("").empty());
  BOOST_TEST(split_list(",,").empty());
  BOOST_TEST((split_list("only") == std::vector<std::string>{"only"}));
}
