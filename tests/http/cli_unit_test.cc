// Unit tests for the CLI's pure pieces: option parsing, base URLs, JSON helpers, the fleet grid
// and the audit/session views.
#define BOOST_TEST_MODULE cli_unit
#include <boost/test/unit_test.hpp>

#include "cli/args.h"
#include "cli/fleet_grid.h"
#include "cli/http_client.h"
#include "cli/json.h"
#include "cli/json_strict.h"
#include "cli/output_format.h"
#include "cli/session_view.h"
#include "cli/sse_client.h"

using namespace enclave::cli;

BOOST_AUTO_TEST_CASE(options) {
  auto o = parse_options({"prog.py", "--allow", "a.com:443", "--allow=b.com:80", "--json",
                          "--memory-mb", "64", "-", "--", "--not-an-option"},
                         {"allow", "memory-mb"}, {"json"});
  BOOST_CHECK(o.error.empty());
  BOOST_CHECK((o.positional == std::vector<std::string>{"prog.py", "-", "--not-an-option"}));
  BOOST_CHECK((o.all("allow") == std::vector<std::string>{"a.com:443", "b.com:80"}));
  BOOST_CHECK(o.flag("json"));
  BOOST_CHECK_EQUAL(o.get("memory-mb"), "64");
  BOOST_CHECK_EQUAL(o.get("missing", "d"), "d");
  BOOST_CHECK(!parse_options({"--bogus"}, {}, {}).error.empty());
  BOOST_CHECK(!parse_options({"--allow"}, {"allow"}, {}).error.empty());
  BOOST_CHECK(!parse_options({"--json=1"}, {}, {"json"}).error.empty());
  long long n = 0;
  BOOST_CHECK(parse_uint("120", &n) && n == 120);
  BOOST_CHECK(!parse_uint("-1", &n));
  BOOST_CHECK(!parse_uint("", &n));
  BOOST_CHECK(!parse_uint("1e3", &n));
}

BOOST_AUTO_TEST_CASE(base_urls) {
  std::string err;
  auto u = parse_url("http://127.0.0.1:8090", &err);
  BOOST_REQUIRE(u);
  BOOST_CHECK_EQUAL(u->host, "127.0.0.1");
  BOOST_CHECK_EQUAL(u->port, 8090);
  BOOST_CHECK_EQUAL(u->base_path, "");
  u = parse_url("http://example.com/enclave/", &err);
  BOOST_REQUIRE(u);
  BOOST_CHECK_EQUAL(u->port, 80);
  BOOST_CHECK_EQUAL(u->base_path, "/enclave");
  u = parse_url("http://[::1]:9000", &err);
  BOOST_REQUIRE(u);
  BOOST_CHECK_EQUAL(u->host, "::1");
  BOOST_CHECK_EQUAL(u->port, 9000);
  for (const char* bad : {"https://x", "127.0.0.1:8090", "http://", "http://h:0", "http://h:99999",
                          "http://h:8x", "http://[::1"}) {
    BOOST_TEST_INFO(bad);
    BOOST_CHECK(!parse_url(bad, &err));
  }
}

BOOST_AUTO_TEST_CASE(json_helpers) {
  auto j = parse_json(R"({"a":"x","n":3,"q":"12","b":true,"z":null,"o":{"k":[1,2]}})");
  BOOST_REQUIRE(j);
  BOOST_CHECK_EQUAL(get_string(*j, "a"), "x");
  BOOST_CHECK_EQUAL(get_number(*j, "n"), 3);
  BOOST_CHECK_EQUAL(get_number(*j, "q"), 12);  // 64-bit integers may arrive quoted
  BOOST_CHECK(get_bool(*j, "b"));
  BOOST_CHECK(!has_value(*j, "z"));
  BOOST_CHECK(!has_value(*j, "missing"));
  BOOST_CHECK(has_value(*j, "n"));
  BOOST_CHECK_EQUAL(display_member(*j, "n"), "3");
  BOOST_CHECK_EQUAL(display_member(*j, "o"), R"({"k":[1,2]})");
  BOOST_CHECK_EQUAL(display_member(*j, "missing", "-"), "-");
  BOOST_CHECK_EQUAL(get_string(*j, "n", "dflt"), "dflt");
  BOOST_CHECK(!parse_json("{nope"));
  BOOST_CHECK_EQUAL(json_quote("a\"b\n"), R"("a\"b\n")");
}

BOOST_AUTO_TEST_CASE(fleet_grid) {
  BOOST_CHECK_EQUAL(tile_for_phase("queued"), '.');
  BOOST_CHECK_EQUAL(tile_for_phase("starting"), 's');
  BOOST_CHECK_EQUAL(tile_for_phase("running"), 'R');
  BOOST_CHECK_EQUAL(tile_for_phase("succeeded"), 'o');
  BOOST_CHECK_EQUAL(tile_for_phase("killed"), 'K');
  BOOST_CHECK_EQUAL(tile_for_phase("failed"), 'F');
  std::string members;
  const char* phases[] = {"succeeded", "running", "queued", "killed", "failed", "starting"};
  for (int i = 11; i >= 0; --i) {  // out of order on purpose
    members += std::string(i == 11 ? "" : ",") + "{\"index\":" + std::to_string(i) +
               ",\"sessionId\":\"s\",\"phase\":\"" + phases[i % 6] + "\"}";
  }
  auto f =
      parse_json(R"({"id":"f1","name":"demo","phase":"running","counts":{"queued":2,)"
                 R"("starting":2,"running":2,"succeeded":2,"failed":2,"killed":2},"members":[)" +
                 members + "]}");
  BOOST_REQUIRE(f);
  std::string frame = render_fleet_frame(*f);
  BOOST_CHECK(frame.find("fleet f1 (demo)  phase: running  members: 12\n") == 0);
  BOOST_CHECK(frame.find("queued 2  starting 2  running 2  succeeded 2  failed 2  killed 2\n") !=
              std::string::npos);
  BOOST_CHECK(frame.find("progress [###############---------------] 6/12 ended (50%)\n") !=
              std::string::npos);
  BOOST_CHECK_EQUAL(progress_line(0, 0),
                    "progress [------------------------------] 0/0 ended (0%)");
  BOOST_CHECK_EQUAL(progress_line(3, 3),
                    "progress [##############################] 3/3 ended (100%)");
  BOOST_CHECK(frame.find("      0  oR.KFsoR.K\n") != std::string::npos);
  BOOST_CHECK(frame.find("     10  Fs\n") != std::string::npos);
  BOOST_CHECK(frame.find("legend: . queued") != std::string::npos);
  // A `members` frame of the fleet stream: phase and counts replaced, listed members by index.
  auto delta = parse_json(R"({"id":"f1","phase":"partial","counts":{"queued":0,"starting":0,)"
                          R"("running":0,"succeeded":11,"failed":0,"killed":1},"members":[)"
                          R"({"index":1,"sessionId":"s","phase":"succeeded"},)"
                          R"({"index":7,"sessionId":"s","phase":"killed"}]})");
  BOOST_REQUIRE(delta);
  JsonValue merged = *f;
  merge_fleet_delta(&merged, *delta);
  std::string after = render_fleet_frame(merged);
  BOOST_CHECK(after.find("phase: partial  members: 12\n") != std::string::npos);
  BOOST_CHECK(after.find("      0  oo.KFsoK.K\n") != std::string::npos);
  BOOST_CHECK(after.find("12/12 ended") != std::string::npos);
  BOOST_CHECK(fleet_phase_terminal("completed"));
  BOOST_CHECK(fleet_phase_terminal("partial"));
  BOOST_CHECK(fleet_phase_terminal("failed"));
  BOOST_CHECK(!fleet_phase_terminal("running"));
  BOOST_CHECK(!fleet_phase_terminal("pending"));
}

BOOST_AUTO_TEST_CASE(views) {
  auto s = parse_json(R"({"zeta":1,"phase":"killed","id":"abc","killReason":"torn_down"})");
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(describe_object(*s),
                    "id: abc\nphase: killed\nkillReason: torn_down\nzeta: 1\n");
  auto a = parse_json(R"({"events":[{"seq":1,"at":"T","type":"session_created","message":"m",)"
                      R"("data":{}},{"seq":2,"at":"U","type":"egress_denied","message":"no",)"
                      R"("data":{"host":"h"}}]})");
  BOOST_REQUIRE(a);
  BOOST_CHECK_EQUAL(describe_audit(*a),
                    "1  T  session_created  m\n2  U  egress_denied  no  {\"host\":\"h\"}\n");
  BOOST_CHECK(session_phase_terminal("succeeded"));
  BOOST_CHECK(!session_phase_terminal("running"));
}

BOOST_AUTO_TEST_CASE(sse_parser) {
  SseParser p;
  std::vector<std::pair<std::string, std::string>> got;
  auto on = [&](const SseEvent& e) {
    got.emplace_back(e.event, e.data);
    return true;
  };
  BOOST_CHECK(p.feed("event: audit\ndata: {\"seq\":1}\n\n: ping\n\nevent: out", on));
  BOOST_CHECK(p.feed("put\r\ndata: a\r\ndata: b\r\n\r\nevent: end\ndata: {}\n", on));
  BOOST_REQUIRE_EQUAL(got.size(), 2u);
  BOOST_CHECK_EQUAL(got[0].first, "audit");
  BOOST_CHECK_EQUAL(got[0].second, "{\"seq\":1}");
  BOOST_CHECK_EQUAL(got[1].first, "output");
  BOOST_CHECK_EQUAL(got[1].second, "a\nb");
  BOOST_CHECK(p.feed("\n", on));
  BOOST_REQUIRE_EQUAL(got.size(), 3u);
  BOOST_CHECK_EQUAL(got[2].first, "end");
  // on_event returning false stops the stream
  SseParser q;
  int n = 0;
  BOOST_CHECK(!q.feed("data: 1\n\ndata: 2\n\n", [&](const SseEvent&) { return ++n < 1; }));
  BOOST_CHECK_EQUAL(n, 1);
}

// Operator output (issue 17): text that came from a tenant or a data dir cannot drive the
// terminal or forge a line; JSON the CLI prints comes from the JSON library.
BOOST_AUTO_TEST_CASE(text_output_escapes_control_characters) {
  struct Case {
    std::string in, out;
  };
  std::vector<Case> cases = {
      {"plain name", "plain name"},
      {"caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93"},  // UTF-8 unchanged
      {"\x1b]0;pwned\x07", "\\e]0;pwned\\x07"},                  // set window title
      {"\x1b[2J\x1b[31mred", "\\e[2J\\e[31mred"},                // clear screen, colour
      {"line\nTAMPERED: fake", "line\\nTAMPERED: fake"},         // forged line
      {"a\rb\tc\x7f", "a\\rb\\tc\\x7f"},
      {"\xc2\x9b"
       "31m",
       "\\u{9b}31m"},  // C1 CSI
      {"bad \xff\xfe utf8", "bad \\xff\\xfe utf8"},
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},  // encoded surrogate
      {"back\\slash", "back\\\\slash"},
  };
  for (const auto& c : cases) {
    JsonValue v;
    v.set_string_value(c.in);
    BOOST_CHECK_EQUAL(display(v), c.out);
  }
  auto trail = parse_json(
      R"({"events":[{"seq":1,"at":"t","type":"session_created","message":"x\u001b[2Jy\nz"}]})");
  BOOST_REQUIRE(trail);
  BOOST_CHECK_EQUAL(describe_audit(*trail), "1  t  session_created  x\\e[2Jy\\nz\n");
}

// ---- issue 25: help, typos, strict member files, tables ---------------------------------------
BOOST_AUTO_TEST_CASE(did_you_mean_and_help) {
  auto o = parse_options({"-", "--timout", "3"}, {"timeout", "memory-mb"}, {"json"});
  BOOST_CHECK_EQUAL(o.error, "unknown option --timout (did you mean --timeout?)");
  BOOST_CHECK_EQUAL(parse_options({"--jsn"}, {}, {"json"}).error,
                    "unknown option --jsn (did you mean --json?)");
  BOOST_CHECK_EQUAL(parse_options({"--zzzzzz"}, {"timeout"}, {"json"}).error,
                    "unknown option --zzzzzz");  // nothing near: no guess
  BOOST_CHECK_EQUAL(closest("lsit", {"list", "run", "result"}), "list");
  BOOST_CHECK_EQUAL(closest("xyz", {"list", "run"}), "");
  BOOST_CHECK_EQUAL(edit_distance("kitten", "sitting"), 3u);
  BOOST_CHECK_EQUAL(edit_distance("lsit", "list"), 1u);  // a swap is one typo
  BOOST_CHECK(wants_help({"--help"}));
  BOOST_CHECK(wants_help({"watch", "-h"}));
  BOOST_CHECK(!wants_help({"x", "--", "--help"}));  // after --: a positional word
}

BOOST_AUTO_TEST_CASE(strict_json_lines) {
  BOOST_CHECK(!json_syntax_error(R"J({"code": "print(1)", "limits": {"memoryMb": 64}})J"));
  BOOST_CHECK(!json_syntax_error(R"J( [1, -2.5e3, true, null, "\u00e9\n"] )J"));
  auto trailing = json_syntax_error(R"J({"code": "x",})J");
  BOOST_REQUIRE(trailing);
  BOOST_CHECK_EQUAL(*trailing, "column 14: trailing comma before '}'");
  BOOST_CHECK(json_syntax_error("[1,]"));
  BOOST_CHECK(json_syntax_error("{'code': 1}"));
  BOOST_CHECK(json_syntax_error(R"J({"a": 1} x)J"));
  BOOST_CHECK(json_syntax_error(R"J({"a": 01})J"));
  BOOST_CHECK(json_syntax_error(R"J({"a": "unterminated)J"));
  BOOST_CHECK(json_syntax_error(std::string(300, '[') + std::string(300, ']')));  // too deep
}

BOOST_AUTO_TEST_CASE(tables_and_output_formats) {
  Table t({"ID", "NAME"});
  t.add({"abc", "evil\x1b[2Jname"});  // tenant text cannot drive the terminal
  BOOST_CHECK_EQUAL(t.render(), "ID   NAME\nabc  evil?[2Jname\n");
  BOOST_CHECK_EQUAL(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
  BOOST_CHECK(*output_format(parse_options({}, {"output"}, {"json"})) == OutputFormat::kTable);
  BOOST_CHECK(*output_format(parse_options({"--json"}, {"output"}, {"json"})) ==
              OutputFormat::kJson);
  BOOST_CHECK(*output_format(parse_options({"--output", "json"}, {"output"}, {"json"})) ==
              OutputFormat::kJson);
  BOOST_CHECK(!output_format(parse_options({"--output=yaml"}, {"output"}, {"json"})));
  // Verbs with only --json take --output too.
  BOOST_CHECK(parse_options({"id", "--output", "json"}, {}, {"json"}).flag("json"));
  BOOST_CHECK(!parse_options({"id", "--output=table"}, {}, {"json"}).flag("json"));
  BOOST_CHECK_EQUAL(parse_options({"--output", "yaml"}, {}, {"json"}).error,
                    "--output must be table or json");
}
