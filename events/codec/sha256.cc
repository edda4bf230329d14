#include "events/codec/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <memory>

#include "events/ids.h"

namespace enclave {

std::string sha256(std::initializer_list<std::string_view> parts) {
  // OpenSSL 3's one-shot SHA256() looks the algorithm up in the provider tables on every call
  // (~45% of its cost for an event-sized input); fetch it once and reuse one context per thread.
  static EVP_MD* const md_alg = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                           &EVP_MD_CTX_free);
  unsigned char md[SHA256_DIGEST_LENGTH];
  unsigned int len = 0;
  bool ok = md_alg && ctx && EVP_DigestInit_ex2(ctx.get(), md_alg, nullptr);
  for (std::string_view p : parts) ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size());
  if (!ok || !EVP_DigestFinal_ex(ctx.get(), md, &len)) {  // the slow path, never expected
    std::string all;
    for (std::string_view p : parts) all.append(p);
    SHA256(reinterpret_cast<const unsigned char*>(all.data()), all.size(), md);
  }
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

std::string sha256(std::string_view bytes) { return sha256({bytes}); }

std::string sha256_hex(std::string_view bytes) { return to_hex(sha256(bytes)); }

}  // namespace enclave
