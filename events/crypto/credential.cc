#include "events/crypto/credential.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "events/codec/base64.h"

namespace enclave::credential {

namespace {

std::string hmac256(const std::string& key, const std::string& data) {
  unsigned char md[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::optional<std::string> unbase64url(const std::string& in) {
  return base64_decode(in, Base64::kUrl);
}

}  // namespace

std::string base64url(const std::string& bytes) { return base64_encode(bytes, Base64::kUrl); }

namespace {

// A JSON string literal of `s` (quotes, backslashes and control bytes escaped).
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[ch >> 4];
      out += hex[ch & 15];
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

}  // namespace

std::string mint(const std::string& secret, const Claims& c) {
  // Built by hand: one is minted per session, and protobuf's JSON printer cost ~10% of a
  // fan-out's CPU. verify() parses it with the general JSON parser.
  std::string json = "{\"sub\":" + json_string(c.session_id) + ",\"org\":" + json_string(c.org_id) +
                     ",\"scope\":" + json_string(c.scope) +
                     ",\"iat\":" + std::to_string(c.issued_at_ms / 1000) +
                     ",\"exp\":" + std::to_string(c.expires_at_ms / 1000) + "}";
  std::string signing = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(json);
  return signing + "." + base64url(hmac256(secret, signing));
}

std::optional<Claims> verify(const std::string& secret, const std::string& token, TimeMs now) {
  auto dot2 = token.rfind('.');
  auto dot1 = token.find('.');
  if (dot1 == std::string::npos || dot2 == dot1) return std::nullopt;
  std::string signing = token.substr(0, dot2);
  auto sig = unbase64url(token.substr(dot2 + 1));
  std::string want = hmac256(secret, signing);
  if (!sig || sig->size() != want.size() || CRYPTO_memcmp(sig->data(), want.data(), want.size()))
    return std::nullopt;
  auto json = unbase64url(token.substr(dot1 + 1, dot2 - dot1 - 1));
  google::protobuf::Struct payload;
  if (!json || !google::protobuf::util::JsonStringToMessage(*json, &payload).ok())
    return std::nullopt;
  const auto& f = payload.fields();
  auto str = [&](const char* k) { return f.count(k) ? f.at(k).string_value() : std::string(); };
  auto num = [&](const char* k) { return f.count(k) ? f.at(k).number_value() : 0.0; };
  Claims c{str("sub"), str("org"), str("scope"), static_cast<TimeMs>(num("iat")) * 1000,
           static_cast<TimeMs>(num("exp")) * 1000};
  if (c.expires_at_ms <= now) return std::nullopt;
  return c;
}

}  // namespace enclave::credential
