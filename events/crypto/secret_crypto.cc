#include "events/crypto/secret_crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <memory>

namespace enclave::secrets {

namespace {

constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;

std::string aad(const std::string& org, const std::string& name) {
  return std::string("enclave-secret-v1") + '\0' + org + '\0' + name;
}

using Ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* u(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string derive_key(const std::string& credential_secret) {
  static const std::string label = "enclave secrets at rest v1";
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), credential_secret.data(), static_cast<int>(credential_secret.size()), u(label),
       label.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

Result<Sealed> seal(const std::string& key, const std::string& org, const std::string& name,
                    const std::string& value) {
  auto fail = [] { return make_error(ErrorCode::kInternal, "internal", "sealing failed"); };
  if (key.size() != 32) return fail();
  Sealed s;
  s.nonce.assign(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.nonce.data()), kNonceBytes) != 1) return fail();
  Ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  const std::string a = aad(org, name);
  s.sealed.assign(value.size() + kTagBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(s.sealed.data());
  int n = 0, m = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u(key), u(s.nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, u(a), static_cast<int>(a.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out, &n, u(value), static_cast<int>(value.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out + n, &m) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, out + value.size()) != 1)
    return fail();
  return s;
}

std::optional<std::string> open(const std::string& key, const std::string& org,
                                const std::string& name, const std::string& nonce,
                                const std::string& sealed) {
  if (key.size() != 32 || nonce.size() != kNonceBytes || sealed.size() < kTagBytes)
    return std::nullopt;
  Ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  const std::string a = aad(org, name);
  const size_t len = sealed.size() - kTagBytes;
  std::string value(len, '\0');
  std::string tag = sealed.substr(len);
  auto* out = reinterpret_cast<unsigned char*>(value.data());
  int n = 0, m = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u(key), u(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, u(a), static_cast<int>(a.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out, &n, u(sealed), static_cast<int>(len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out + n, &m) != 1)
    return std::nullopt;
  return value;
}

}  // namespace enclave::secrets
