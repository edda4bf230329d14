// Identifiers. Streams are 16 random bytes; their text form is 32 lowercase hex characters
// (fixed length, so runsc's prefix matching of container ids can never confuse two sessions).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace enclave {

// 16 random bytes from the OS.
std::string new_stream_id();

// 32-char lowercase hex of a 16-byte id (or any bytes).
std::string to_hex(std::string_view bytes);

// The 16 bytes of a 32-char hex id; nullopt if `hex` is not exactly that.
std::optional<std::string> from_hex_id(std::string_view hex);

// A well-known stream: the API keys of the whole installation.
std::string keys_stream_id();

// A well-known stream: the orgs' admission settings (OrgSettingsSet).
std::string orgs_stream_id();

// A well-known stream: the orgs' secrets, sealed (SecretSet/SecretDeleted, events/secrets.h).
std::string secrets_stream_id();

}  // namespace enclave
