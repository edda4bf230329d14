// Session credentials (pure): a token verifies with its key until it expires; any change to it,
// or another key, is refused.
#include "events/crypto/credential.h"

#include <boost/test/unit_test.hpp>

#include "events/codec/base64.h"

using namespace enclave;

BOOST_AUTO_TEST_SUITE(credential_tokens)

BOOST_AUTO_TEST_CASE(mint_and_verify) {
  credential::Claims c{"abcd", "acme", "session:broker", 1'700'000'000'000, 1'700'000'060'000};
  auto t = credential::mint("k1", c);
  BOOST_CHECK_EQUAL(t.rfind("eyJ", 0), 0u);  // a JWT: the header is base64url JSON
  auto v = credential::verify("k1", t, 1'700'000'030'000);
  BOOST_REQUIRE(v);
  BOOST_CHECK_EQUAL(v->session_id, "abcd");
  BOOST_CHECK_EQUAL(v->org_id, "acme");
  BOOST_CHECK(!credential::verify("k2", t, 1'700'000'030'000));  // another key
  BOOST_CHECK(!credential::verify("k1", t, 1'700'000'060'000));  // expired
  std::string forged = t;
  forged[forged.find('.') + 3] ^= 1;  // a changed payload
  BOOST_CHECK(!credential::verify("k1", forged, 1'700'000'030'000));
  BOOST_CHECK(!credential::verify("k1", "not-a-token", 0));
}

BOOST_AUTO_TEST_CASE(claims_with_json_metacharacters_round_trip) {
  credential::Claims c{"ab\"cd", "org\\with \"quotes\"\n\x01", "s", 1'000, 61'000};
  auto v = credential::verify("k", credential::mint("k", c), 2'000);
  BOOST_REQUIRE(v);
  BOOST_CHECK_EQUAL(v->session_id, c.session_id);
  BOOST_CHECK_EQUAL(v->org_id, c.org_id);
  BOOST_CHECK_EQUAL(v->expires_at_ms, 61'000);
}

// The one base64 codec: RFC 4648 test vectors in both alphabets, and what decoding refuses.
BOOST_AUTO_TEST_CASE(base64_round_trips_and_refuses_foreign_bytes) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, coded] : vectors) {
    BOOST_CHECK_EQUAL(base64_encode(plain), coded);
    BOOST_CHECK_EQUAL(base64_decode(coded).value_or("?"), plain);
    std::string url = coded;
    url.erase(url.find_last_not_of('=') + 1);
    BOOST_CHECK_EQUAL(base64_encode(plain, Base64::kUrl), url);
    BOOST_CHECK_EQUAL(base64_decode(url, Base64::kUrl).value_or("?"), plain);
  }
  BOOST_CHECK_EQUAL(base64_encode("\xfb\xff"), "+/8=");
  BOOST_CHECK_EQUAL(base64_decode("Zm9v\nYmFy").value_or("?"), "foobar");  // wrapped lines
  BOOST_CHECK(!base64_decode("Zm9v!"));
  BOOST_CHECK(!base64_decode("-_8", Base64::kStandard));
  BOOST_CHECK(!base64_decode("+/8", Base64::kUrl));
  BOOST_CHECK(!base64_decode("Zg==", Base64::kUrl));  // URL form is unpadded
}

BOOST_AUTO_TEST_CASE(base64url_has_no_padding_or_unsafe_chars) {
  BOOST_CHECK_EQUAL(credential::base64url("\xfb\xff"), "-_8");
  BOOST_CHECK_EQUAL(credential::base64url("ab"), "YWI");
}

BOOST_AUTO_TEST_SUITE_END()
