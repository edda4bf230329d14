// Images as data (issue 21): a request's image and language resolved against the catalog, every
// bad one named; manifests from the data dir are hostile input.
#include "events/requests/image_catalog.h"

#include <boost/test/unit_test.hpp>

#include "events/requests/session_request.h"

using namespace enclave;

namespace {

images::Catalog two_images() {
  images::Catalog c;
  api::Image d;
  d.set_name("default");
  d.set_digest("host:" + std::string(64, 'a'));
  d.add_languages("python");
  d.add_languages("javascript");
  d.add_languages("bash");
  c.by_name["default"] = d;
  api::Image p;
  p.set_name("pydata");
  p.set_digest("sha256:" + std::string(64, 'b'));
  p.add_languages("python");
  p.add_languages("bash");
  c.by_name["pydata"] = p;
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(image_catalog)

BOOST_AUTO_TEST_CASE(requests_resolve_to_the_image_digest_or_name_the_field) {
  struct Row {
    std::string image, language, field, digest;
  };
  const std::vector<Row> rows = {
      {"", "", "", "host:" + std::string(64, 'a')},
      {"default", "javascript", "", "host:" + std::string(64, 'a')},
      {"pydata", "python", "", "sha256:" + std::string(64, 'b')},
      {"pydata", "bash", "", "sha256:" + std::string(64, 'b')},
      {"pydata", "javascript", "language", ""},
      {"nope", "python", "image", ""},
      {"../../etc", "python", "image", ""},
  };
  for (const auto& row : rows) {
    api::CreateSessionRequest r;
    r.set_code("1");
    r.set_image(row.image);
    r.set_language(row.language);
    RequestBounds bounds;
    bounds.images = std::make_shared<const images::Catalog>(two_images());
    auto spec = validate_session_request(r, bounds, "members[2].");
    BOOST_TEST_CONTEXT(row.image << "/" << row.language) {
      if (row.field.empty()) {
        BOOST_REQUIRE(spec.ok());
        BOOST_CHECK_EQUAL(spec->image_digest(), row.digest);
        BOOST_CHECK_EQUAL(spec->image(), row.image.empty() ? "default" : row.image);
      } else {
        BOOST_REQUIRE(!spec.ok());
        BOOST_CHECK_EQUAL(spec.error().field, "members[2]." + row.field);
        BOOST_CHECK(spec.error().code == ErrorCode::kInvalidArgument);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_fleet_names_the_member_whose_image_is_unknown) {
  api::CreateFleetRequest f;
  f.add_members()->set_code("1");
  auto* bad = f.add_members();
  bad->set_code("1");
  bad->set_image("nope");
  RequestBounds bounds;
  bounds.images = std::make_shared<const images::Catalog>(two_images());
  auto members = validate_fleet_request(f, bounds);
  BOOST_REQUIRE(!members.ok());
  BOOST_CHECK_EQUAL(members.error().field, "members[1].image");
}

BOOST_AUTO_TEST_CASE(languages_are_python_javascript_bash) {
  for (const char* ok : {"python", "javascript", "bash", ""}) {
    api::CreateSessionRequest r;
    r.set_code("1");
    r.set_language(ok);
    BOOST_CHECK_MESSAGE(validate_session_request(r).ok(), ok);
  }
  for (const char* bad : {"cobol", "js", "Python", "sh"}) {
    api::CreateSessionRequest r;
    r.set_code("1");
    r.set_language(bad);
    auto s = validate_session_request(r);
    BOOST_REQUIRE(!s.ok());
    BOOST_CHECK_EQUAL(s.error().field, "language");
  }
}

BOOST_AUTO_TEST_CASE(names_and_digests_never_become_paths) {
  for (const char* ok : {"pydata", "python-data", "a", "x.1_2-3"})
    BOOST_CHECK_MESSAGE(images::valid_image_name(ok), ok);
  for (const char* bad : {"", ".", "..", "../x", "a/b", "-a", "A", "a b", "é"})
    BOOST_CHECK_MESSAGE(!images::valid_image_name(bad), bad);
  BOOST_CHECK(!images::valid_image_name(std::string(64, 'a')));
  BOOST_CHECK(images::valid_built_digest("sha256:" + std::string(64, '0')));
  BOOST_CHECK(!images::valid_built_digest("sha256:" + std::string(63, '0')));
  BOOST_CHECK(!images::valid_built_digest("sha256:" + std::string(64, 'A')));
  BOOST_CHECK(!images::valid_built_digest("host:" + std::string(64, '0')));
  BOOST_CHECK(!images::valid_built_digest("sha256:../" + std::string(61, '0')));
}

BOOST_AUTO_TEST_CASE(manifests_round_trip_and_hostile_ones_are_refused) {
  api::Image m;
  m.set_name("pydata");
  m.set_digest("sha256:" + std::string(64, 'c'));
  m.add_languages("python");
  m.set_size_bytes(1234);
  auto back = images::parse_manifest(images::manifest_json(m));
  BOOST_REQUIRE(back);
  BOOST_CHECK_EQUAL(back->name(), "pydata");
  BOOST_CHECK_EQUAL(back->digest(), m.digest());
  const std::string d = "\"sha256:" + std::string(64, 'c') + "\"";
  for (const std::string& bad : {
           std::string("not json"),
           "{\"name\":\"../x\",\"digest\":" + d + "}",
           std::string("{\"name\":\"x\",\"digest\":\"sha256:../../etc\"}"),
           "{\"name\":\"x\",\"digest\":" + d + ",\"languages\":[\"cobol\"]}",
           "{\"name\":\"x\",\"digest\":" + d + ",\"unknown\":1}",
           "{\"name\":\"x\",\"digest\":" + d + ",\"inputs\":\"" + std::string(70000, 'a') + "\"}",
       })
    BOOST_CHECK_MESSAGE(!images::parse_manifest(bad), bad.substr(0, 60));
}

BOOST_AUTO_TEST_SUITE_END()
