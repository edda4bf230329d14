// The egress proxy's per-server certificate authority, for secrets injected into HTTPS: the
// proxy ends the sandbox's TLS with a leaf certificate for the requested host signed by this CA,
// which the sandbox trusts (its public certificate is written into the session's io dir). The
// CA's private key is made in memory when the backend starts, never written anywhere and never
// enters a sandbox; leaf contexts are cached per host, at most kMaxLeaves (least recently used
// evicted).
#pragma once

#include <openssl/ssl.h>

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace enclave::backends::gvisor {

class EgressCa {
 public:
  static constexpr size_t kMaxLeaves = 256;

  // A fresh CA (EC P-256, self-signed, "Enclave egress CA"); nullptr with `error` set on failure.
  static std::unique_ptr<EgressCa> create(std::string* error);
  ~EgressCa();
  EgressCa(const EgressCa&) = delete;
  EgressCa& operator=(const EgressCa&) = delete;

  // The CA certificate (PEM): what a sandbox trusts. Public.
  const std::string& cert_pem() const { return cert_pem_; }
  // A TLS server context presenting a leaf for `host` (a DNS name, or an IP literal without
  // brackets: then an IP subjectAltName), HTTP/1.1 only (ALPN). nullptr on failure. Thread-safe.
  std::shared_ptr<SSL_CTX> server_context(const std::string& host);

 private:
  EgressCa() = default;
  std::shared_ptr<SSL_CTX> make_leaf(const std::string& host);

  EVP_PKEY* ca_key_ = nullptr;
  X509* ca_cert_ = nullptr;
  EVP_PKEY* leaf_key_ = nullptr;  // one key for every leaf (the CA vouches per host)
  std::string cert_pem_;
  std::mutex mu_;
  std::list<std::string> lru_;
  std::unordered_map<std::string,
                     std::pair<std::shared_ptr<SSL_CTX>, std::list<std::string>::iterator>>
      leaves_;
};

// A TLS client context that verifies upstream servers: against `ca_file` (PEM) when given (only
// that), else the system trust store. HTTP/1.1 only (ALPN). nullptr with `error` on failure.
std::shared_ptr<SSL_CTX> upstream_tls_context(const std::string& ca_file, std::string* error);

}  // namespace enclave::backends::gvisor
