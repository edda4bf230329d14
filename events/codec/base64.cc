#include "events/codec/base64.h"

#include <cstdint>

namespace enclave {

namespace {

const char* alphabet_of(Base64 a) {
  return a == Base64::kUrl ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                           : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

int value_of(char c, Base64 a) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == (a == Base64::kUrl ? '-' : '+')) return 62;
  if (c == (a == Base64::kUrl ? '_' : '/')) return 63;
  return -1;
}

}  // namespace

std::string base64_encode(std::string_view bytes, Base64 alphabet) {
  const char* chars = alphabet_of(alphabet);
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buf = buf << 8 | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(chars[(buf >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(chars[(buf << (6 - bits)) & 63]);
  if (alphabet == Base64::kStandard)
    while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

std::optional<std::string> base64_decode(std::string_view text, Base64 alphabet) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : text) {
    if (alphabet == Base64::kStandard) {
      if (c == '=') break;
      if (c == '\n' || c == '\r' || c == ' ') continue;
    }
    int v = value_of(c, alphabet);
    if (v < 0) return std::nullopt;
    buf = buf << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace enclave
