// Base64 (RFC 4648), pure: the standard alphabet (§4, "+/", padded with '=') and the URL-safe
// one (§5, "-_", unpadded, as JWTs use). One codec for the whole tree.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace enclave {

enum class Base64 { kStandard, kUrl };

std::string base64_encode(std::string_view bytes, Base64 alphabet = Base64::kStandard);

// The decoded bytes; nullopt on a byte outside the alphabet. Standard: '=' ends the data and
// line breaks and spaces are skipped (kubeconfigs and logs wrap it). URL: strict, no padding.
std::optional<std::string> base64_decode(std::string_view text,
                                         Base64 alphabet = Base64::kStandard);

}  // namespace enclave
