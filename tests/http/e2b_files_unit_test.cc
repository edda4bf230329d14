// Unit tests for the pure pieces of envd's files API (http/e2b/): the streaming multipart reader
// (fed whole, byte by byte and in every split, hostile framing refused), the E2B path rules, and
// which requests stream their body.
#define BOOST_TEST_MODULE e2b_files_unit
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>
#include <vector>

#include "http/e2b/multipart.h"
#include "http/e2b/requests.h"
#include "http/e2b/routes.h"

using namespace enclave;
using namespace enclave::http::e2b;

namespace {

struct Part {
  multipart::PartHead head;
  std::string data;
  bool ended = false;
};

struct Fed {
  std::vector<Part> parts;
  std::optional<Error> error;
};

// Feeds `body` in pieces of `step` bytes (0: whole) and collects what the sinks saw.
Fed feed(const std::string& boundary, const std::string& body, size_t step = 0) {
  Fed out;
  multipart::Reader r(boundary, multipart::Sinks{[&](const multipart::PartHead& h) {
                                                   out.parts.push_back(Part{h, "", false});
                                                   return std::optional<Error>();
                                                 },
                                                 [&](const char* d, size_t n) {
                                                   out.parts.back().data.append(d, n);
                                                   return std::optional<Error>();
                                                 },
                                                 [&] {
                                                   out.parts.back().ended = true;
                                                   return std::optional<Error>();
                                                 }});
  size_t n = step == 0 ? body.size() : step;
  for (size_t i = 0; i < body.size() && !out.error; i += n) {
    out.error = r.feed(body.data() + i, std::min(n, body.size() - i));
  }
  if (!out.error) out.error = r.finish();
  return out;
}

const std::string kB = "----formdata-undici-0123456789";

std::string part(const std::string& disposition, const std::string& data) {
  return "--" + kB + "\r\nContent-Disposition: " + disposition +
         "\r\nContent-Type: application/octet-stream\r\n\r\n" + data + "\r\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(boundaries_come_from_the_content_type) {
  BOOST_CHECK_EQUAL(*multipart::boundary_of("multipart/form-data; boundary=" + kB), kB);
  BOOST_CHECK_EQUAL(*multipart::boundary_of("Multipart/Form-Data; boundary=\"a b'c\""), "a b'c");
  const std::vector<std::string> refused = {
      "application/json",
      "multipart/form-data",
      "multipart/form-data; boundary=",
      "multipart/form-data; boundary=" + std::string(71, 'x'),
      "multipart/form-data; boundary=a\x01z",
      "multipart/mixed; boundary=a",
  };
  for (const auto& bad : refused) {
    auto b = multipart::boundary_of(bad);
    BOOST_CHECK_MESSAGE(!b, bad);
    if (!b) BOOST_CHECK_EQUAL(b.error().field, "Content-Type");
  }
}

BOOST_AUTO_TEST_CASE(parts_arrive_whole_whatever_the_split) {
  // Data that holds near-delimiters: a CRLF, "--", and the boundary without its leading CRLF.
  const std::string tricky = "line1\r\n--" + kB.substr(0, 10) + "\r\n-- x --" + kB + "end";
  const std::string body =
      "preamble\r\n" + part("form-data; name=\"file\"; filename=\"a.txt\"", "A") +
      part("form-data; name=\"file\"; filename=\"/home/user/%22q%22.bin\"", tricky) +
      part("form-data; name=\"other\"", "") + "--" + kB + "--\r\nepilogue";
  for (size_t step : {size_t{0}, size_t{1}, size_t{2}, size_t{7}, size_t{31}, size_t{64}}) {
    auto f = feed(kB, body, step);
    BOOST_REQUIRE_MESSAGE(!f.error, "step " << step << ": " << (f.error ? f.error->message : ""));
    BOOST_REQUIRE_EQUAL(f.parts.size(), 3u);
    BOOST_CHECK_EQUAL(f.parts[0].head.name, "file");
    BOOST_CHECK_EQUAL(f.parts[0].head.filename, "a.txt");
    BOOST_CHECK_EQUAL(f.parts[0].data, "A");
    BOOST_CHECK_EQUAL(f.parts[1].head.filename, "/home/user/\"q\".bin");
    BOOST_CHECK_EQUAL(f.parts[1].data, tricky);
    BOOST_CHECK_EQUAL(f.parts[2].head.name, "other");
    BOOST_CHECK(!f.parts[2].head.has_filename);
    BOOST_CHECK(f.parts[0].ended && f.parts[1].ended && f.parts[2].ended);
  }
  // An empty file.
  auto empty = feed(kB, part("form-data; name=file; filename=e", "") + "--" + kB + "--");
  BOOST_REQUIRE(!empty.error);
  BOOST_REQUIRE_EQUAL(empty.parts.size(), 1u);
  BOOST_CHECK(empty.parts[0].data.empty() && empty.parts[0].ended);
}

BOOST_AUTO_TEST_CASE(hostile_framing_is_refused) {
  struct Case {
    std::string what, body;
  };
  std::vector<Case> cases = {
      {"no closing delimiter", part("form-data; name=\"file\"; filename=\"a\"", "A")},
      {"empty body", ""},
      {"not form-data",
       "--" + kB + "\r\nContent-Disposition: attachment\r\n\r\nA\r\n--" + kB + "--"},
      {"a part without a head", "--" + kB + "\r\n\r\nA\r\n--" + kB + "--"},
      {"no disposition", "--" + kB + "\r\nContent-Type: text/plain\r\n\r\nA\r\n--" + kB + "--"},
      {"head over 8 KiB",
       "--" + kB + "\r\nX: " + std::string(9000, 'h') + "\r\n\r\nA\r\n--" + kB + "--"},
      {"garbage after a delimiter", "--" + kB + "junk\r\n\r\nA\r\n--" + kB + "--"},
  };
  for (const auto& c : cases) {
    for (size_t step : {size_t{0}, size_t{3}}) {
      auto f = feed(kB, c.body, step);
      BOOST_CHECK_MESSAGE(f.error.has_value(), c.what << " (step " << step << ")");
      if (f.error) BOOST_CHECK(f.error->code == ErrorCode::kInvalidArgument);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_sink_error_stops_the_reading) {
  int data_calls = 0;
  multipart::Reader r(
      kB, multipart::Sinks{[](const multipart::PartHead&) { return std::optional<Error>(); },
                           [&](const char*, size_t) {
                             ++data_calls;
                             return std::optional<Error>(make_error(
                                 ErrorCode::kInsufficientStorage, "insufficient_storage", "full"));
                           },
                           [] { return std::optional<Error>(); }});
  std::string body =
      part("form-data; name=file; filename=a", std::string(100, 'x')) + "--" + kB + "--";
  auto e = r.feed(body.data(), body.size());
  BOOST_REQUIRE(e.has_value());
  BOOST_CHECK(e->code == ErrorCode::kInsufficientStorage);
  BOOST_CHECK_EQUAL(data_calls, 1);
  BOOST_CHECK(r.feed("more", 4).has_value());  // refused for good
  BOOST_CHECK(r.finish().has_value());
}

BOOST_AUTO_TEST_CASE(e2b_paths_resolve_under_home) {
  struct Case {
    std::string in, want;  // want "" → refused
  };
  std::vector<Case> cases = {
      {"/home/user/a.txt", "/home/user/a.txt"},
      {"a.txt", "/home/user/a.txt"},
      {"dir/b", "/home/user/dir/b"},
      {"~/c", "/home/user/c"},
      {"~", "/home/user"},
      {"", "/home/user"},
      {"./x", "/home/user/x"},
      {"../etc/passwd", ""},
      {"/home/user/../../etc/passwd", ""},
      {"/etc/passwd", ""},
      {"~root/x", "/home/user/~root/x"},  // only "~" and "~/" expand: another user's ~ is a name
      {std::string("a\0b", 3), ""},
      {"/home/user/" + std::string(2000, 'a'), ""},
  };
  for (const auto& c : cases) {
    auto p = sandbox_path(c.in, "path");
    if (c.want.empty()) {
      BOOST_CHECK_MESSAGE(!p, "refused: " << c.in);
      if (!p) BOOST_CHECK_EQUAL(p.error().reason, "path_forbidden");
    } else {
      BOOST_REQUIRE_MESSAGE(p, c.in);
      BOOST_CHECK_EQUAL(p->display(), c.want);
    }
  }
}

BOOST_AUTO_TEST_CASE(only_envd_uploads_stream_their_body) {
  BOOST_CHECK(streams_body("POST", "/files?path=/home/user/a"));
  BOOST_CHECK(streams_body("POST", "/files"));
  BOOST_CHECK(!streams_body("GET", "/files?path=a"));
  BOOST_CHECK(!streams_body("POST", "/filesystem.Filesystem/Stat"));
  BOOST_CHECK(!streams_body("POST", "/execute"));
  BOOST_CHECK(!streams_body("POST", "/sandboxes"));
  BOOST_CHECK_EQUAL(match_endpoint("POST", "/filesystem.Filesystem/Move").rpc, "Move");
}
