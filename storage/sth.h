// Signed tree heads (STH): a Merkle root of the global order at a size, signed with the server's
// Ed25519 key, so that whoever later holds the data dir cannot rewrite history an STH covers.
//
// Signed bytes (UTF-8, no trailing newline): "enclave-sth-v1\n<treeSize>\n<rootHash
// hex>\n<timestamp>" JSON: {"treeSize":N,"rootHash":"<64 hex>","timestamp":"<RFC
// 3339>","keyId":"<64 hex>",
//        "signature":"<base64 of 64 bytes>"}; keyId = hex SHA-256 of the public key's DER
// (SubjectPublicKeyInfo), what `openssl pkey -pubout -outform DER | sha256sum` prints.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "events/error.h"

namespace enclave::storage {

struct TreeHead {
  uint64_t tree_size = 0;
  std::string root_hash;  // 32 raw bytes
  std::string timestamp;  // RFC 3339
  std::string key_id;     // hex
  std::string signature;  // 64 raw bytes
};

// The bytes the signature covers.
std::string sth_message(const TreeHead& th);
// The STH as one line of JSON (no newline).
std::string sth_json(const TreeHead& th);
// Parses an STH JSON object (hostile input: every field checked for type and shape; at most
// 64 KiB). Does not check the signature.
[[nodiscard]] Result<TreeHead> parse_sth_json(std::string_view text);

// An Ed25519 public key that checks STH signatures.
class PublicKey {
 public:
  [[nodiscard]] static Result<PublicKey> from_pem(std::string_view pem);
  // Whether `th` is signed by this key (its keyId must be this key's too).
  bool verifies(const TreeHead& th) const;
  const std::string& key_id() const { return key_id_; }
  const std::string& pem() const { return pem_; }

 private:
  friend class SigningKey;
  std::shared_ptr<void> key_;  // EVP_PKEY
  std::string key_id_, pem_;
};

// The server's Ed25519 private key. It lives outside the data dir.
class SigningKey {
 public:
  // Writes a new key as PEM (PKCS#8) to `path`, created with O_EXCL and mode 0600.
  [[nodiscard]] static Result<bool> create_file(const std::string& path);
  // Loads a PEM private key; kInvalidArgument naming the file if it is not an Ed25519 key.
  [[nodiscard]] static Result<SigningKey> load_file(const std::string& path);
  // Sets th.key_id and th.signature.
  void sign(TreeHead& th) const;
  const PublicKey& public_key() const { return public_; }

 private:
  std::shared_ptr<void> key_;  // EVP_PKEY
  PublicKey public_;
};

}  // namespace enclave::storage
