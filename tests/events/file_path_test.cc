// The files API's path rules (events/requests/file_path.h) and a request's staged files and
// artifact globs (events/requests/session_files_request.h), as tables.
#include "events/requests/file_path.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "events/codec/base64.h"
#include "events/requests/session_request.h"

using namespace enclave;

BOOST_AUTO_TEST_SUITE(file_path)

BOOST_AUTO_TEST_CASE(accepted_paths_normalise_under_home) {
  struct Row {
    std::string in, display;
    size_t depth;
  };
  const std::vector<Row> rows = {
      {"/home/user", "/home/user", 0},
      {"/home/user/", "/home/user", 0},
      {"/home/user/a.csv", "/home/user/a.csv", 1},
      {"/home/user//in/./data.csv", "/home/user/in/data.csv", 2},
      {"/home/user/out/", "/home/user/out", 1},
      {"/home/user/.hidden", "/home/user/.hidden", 1},
      {"/home/user/ünïcode name", "/home/user/ünïcode name", 1},
      {"/home/user/..a/b..", "/home/user/..a/b..", 2},
  };
  for (const auto& r : rows) {
    auto p = files::parse_session_path(r.in);
    BOOST_TEST_CONTEXT(r.in) {
      BOOST_REQUIRE(p.ok());
      BOOST_CHECK_EQUAL(p->display(), r.display);
      BOOST_CHECK_EQUAL(p->components.size(), r.depth);
    }
  }
}

BOOST_AUTO_TEST_CASE(hostile_paths_are_path_forbidden) {
  const std::vector<std::string> rows = {
      "",
      "/etc/passwd",
      "/home/user/../../etc/passwd",
      "/home/user/..",
      "/home/user/a/../../b",
      std::string("/home/user/a\0b", 14),
      "/home/user/a\nb",
      "/home/user/a\x7f",
      "/proc/1/environ",
      "/proc/self/root/etc",
      "home/user/a",
      "/home/username",
      "/home/users/a",
      "/home",
      "/tmp/x",  // the sandbox's own memory: not reachable from the host
      "/home/user/" + std::string(256, 'a'),
      "/home/user/" + std::string(1100, 'a'),
  };
  std::string deep = "/home/user";
  for (int i = 0; i < 33; ++i) deep += "/d";
  std::vector<std::string> all = rows;
  all.push_back(deep);
  for (const auto& in : all) {
    auto p = files::parse_session_path(in, "path");
    BOOST_TEST_CONTEXT(in.substr(0, 60)) {
      BOOST_REQUIRE(!p.ok());
      BOOST_CHECK_EQUAL(p.error().reason, "path_forbidden");
      BOOST_CHECK_EQUAL(p.error().field, "path");
      BOOST_CHECK(p.error().code == ErrorCode::kInvalidArgument);
    }
  }
}

BOOST_AUTO_TEST_CASE(artifact_globs) {
  struct Row {
    std::string in;
    std::string out;  // "" = refused
  };
  const std::vector<Row> rows = {
      {"out/*.png", "out/*.png"},
      {"/home/user/out/*.txt", "out/*.txt"},
      {"report.pdf", "report.pdf"},
      {"./out//r?.csv", "out/r?.csv"},
      {"../x", ""},
      {"/etc/*", ""},
      {"out/**/x", ""},
      {"*/x.png", ""},
      {"/home/user", ""},
      {"", ""},
  };
  for (const auto& r : rows) {
    auto g = files::parse_artifact_glob(r.in);
    BOOST_TEST_CONTEXT(r.in) {
      if (r.out.empty()) {
        BOOST_CHECK(!g.ok());
      } else {
        BOOST_REQUIRE(g.ok());
        BOOST_CHECK_EQUAL(*g, r.out);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(glob_names) {
  struct Row {
    std::string pattern, name;
    bool match;
  };
  const std::vector<Row> rows = {
      {"*.png", "a.png", true},   {"*.png", "a.png.txt", false}, {"*", "x", true},
      {"r?.csv", "r1.csv", true}, {"r?.csv", "r10.csv", false},  {"a*b*c", "aXbYc", true},
      {"a*b*c", "aXbY", false},   {"exact", "exact", true},      {"exact", "exac", false},
      {"**", "anything", true},   {"*x", "xxxxxxxxxxy", false},
  };
  for (const auto& r : rows)
    BOOST_CHECK_MESSAGE(files::glob_name_matches(r.pattern, r.name) == r.match,
                        r.pattern + " vs " + r.name);
}

BOOST_AUTO_TEST_CASE(request_files_and_artifacts) {
  api::CreateSessionRequest r;
  r.set_code("print(1)");
  auto* f = r.add_files();
  f->set_path("/home/user/in/x.txt");
  f->set_content_base64(base64_encode("hello"));
  r.add_artifacts("out/*.txt");
  auto s = validate_session_request(r);
  BOOST_REQUIRE(s.ok());
  BOOST_REQUIRE_EQUAL(s->files_size(), 1);
  BOOST_CHECK_EQUAL(s->files(0).path(), "/home/user/in/x.txt");
  BOOST_CHECK_EQUAL(s->files(0).content(), "hello");
  BOOST_REQUIRE_EQUAL(s->artifacts_size(), 1);
  BOOST_CHECK_EQUAL(s->artifacts(0), "out/*.txt");

  struct Row {
    std::function<void(api::CreateSessionRequest&)> edit;
    std::string field, reason;
  };
  const std::vector<Row> rows = {
      {[](auto& q) { q.mutable_files(0)->set_path("/etc/passwd"); }, "files[0].path",
       "path_forbidden"},
      {[](auto& q) { q.mutable_files(0)->set_path("/home/user/../x"); }, "files[0].path",
       "path_forbidden"},
      {[](auto& q) { q.mutable_files(0)->set_content_base64("!!!"); }, "files[0].contentBase64",
       "invalid_argument"},
      {[](auto& q) { *q.add_files() = q.files(0); }, "files[1].path", "invalid_argument"},
      {[](auto& q) { q.set_artifacts(0, "../../etc/*"); }, "artifacts[0]", "path_forbidden"},
      {[](auto& q) { q.set_exec_mode("interactive"); }, "artifacts", "invalid_argument"},
  };
  for (const auto& row : rows) {
    api::CreateSessionRequest bad = r;
    row.edit(bad);
    auto v = validate_session_request(bad);
    BOOST_TEST_CONTEXT(row.field) {
      BOOST_REQUIRE(!v.ok());
      BOOST_CHECK_EQUAL(v.error().field, row.field);
      BOOST_CHECK_EQUAL(v.error().reason, row.reason);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
