#include "backends/gvisor/egress_ca.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "events/policy/egress_policy.h"

namespace enclave::backends::gvisor {

namespace {

const unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

std::string openssl_error(const std::string& what) {
  char buf[256] = {};
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  return what + ": " + buf;
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `cn` over `key`, valid from an hour ago for `days`, with a random serial.
X509* new_cert(const std::string& cn, EVP_PKEY* key, long days) {
  X509* x = X509_new();
  if (!x) return nullptr;
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  ASN1_INTEGER* s = bn ? BN_to_ASN1_INTEGER(bn, nullptr) : nullptr;
  BN_free(bn);
  const bool ok = s && X509_set_version(x, 2) == 1 && X509_set_serialNumber(x, s) == 1 &&
                  X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
                  X509_gmtime_adj(X509_getm_notAfter(x), days * 86400) &&
                  X509_set_pubkey(x, key) == 1;
  ASN1_INTEGER_free(s);
  X509_NAME* name = X509_get_subject_name(x);
  if (!ok || X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                        0) != 1) {
    X509_free(x);
    return nullptr;
  }
  return x;
}

int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                  unsigned int inlen, void*) {
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, kAlpnHttp11, sizeof kAlpnHttp11, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no h2: the client falls back to HTTP/1.1 or gives up
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

std::unique_ptr<EgressCa> EgressCa::create(std::string* error) {
  std::unique_ptr<EgressCa> ca(new EgressCa());
  ca->ca_key_ = EVP_EC_gen("P-256");
  ca->leaf_key_ = EVP_EC_gen("P-256");
  if (!ca->ca_key_ || !ca->leaf_key_) {
    *error = openssl_error("egress CA key");
    return nullptr;
  }
  ca->ca_cert_ = new_cert("Enclave egress CA", ca->ca_key_, 3650);
  if (!ca->ca_cert_ ||
      X509_set_issuer_name(ca->ca_cert_, X509_get_subject_name(ca->ca_cert_)) != 1 ||
      !add_ext(ca->ca_cert_, ca->ca_cert_, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_ext(ca->ca_cert_, ca->ca_cert_, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_ext(ca->ca_cert_, ca->ca_cert_, NID_subject_key_identifier, "hash") ||
      !add_ext(ca->ca_cert_, ca->ca_cert_, NID_authority_key_identifier, "keyid:always") ||
      X509_sign(ca->ca_cert_, ca->ca_key_, EVP_sha256()) == 0) {
    *error = openssl_error("egress CA certificate");
    return nullptr;
  }
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_X509(bio, ca->ca_cert_) != 1) {
    BIO_free(bio);
    *error = openssl_error("egress CA PEM");
    return nullptr;
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  ca->cert_pem_.assign(data, static_cast<size_t>(n));
  BIO_free(bio);
  return ca;
}

EgressCa::~EgressCa() {
  leaves_.clear();
  X509_free(ca_cert_);
  EVP_PKEY_free(ca_key_);
  EVP_PKEY_free(leaf_key_);
}

std::shared_ptr<SSL_CTX> EgressCa::make_leaf(const std::string& host) {
  X509* leaf = new_cert(host.substr(0, 64), leaf_key_, 30);
  if (!leaf) return nullptr;
  const bool ip = egress::parse_ip(host).has_value();  // hosts come canonical (the proxy's)
  bool ok = X509_set_issuer_name(leaf, X509_get_subject_name(ca_cert_)) == 1 &&
            add_ext(leaf, ca_cert_, NID_basic_constraints, "critical,CA:FALSE") &&
            add_ext(leaf, ca_cert_, NID_key_usage, "critical,digitalSignature") &&
            add_ext(leaf, ca_cert_, NID_ext_key_usage, "serverAuth") &&
            add_ext(leaf, ca_cert_, NID_authority_key_identifier, "keyid:always") &&
            add_ext(leaf, ca_cert_, NID_subject_alt_name, (ip ? "IP:" : "DNS:") + host) &&
            X509_sign(leaf, ca_key_, EVP_sha256()) != 0;
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  ok = ok && ctx && SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) == 1 &&
       SSL_CTX_use_certificate(ctx.get(), leaf) == 1 &&
       SSL_CTX_use_PrivateKey(ctx.get(), leaf_key_) == 1;
  X509_free(leaf);
  if (!ok) return nullptr;
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_http11, nullptr);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

std::shared_ptr<SSL_CTX> EgressCa::server_context(const std::string& host) {
  std::lock_guard lock(mu_);
  if (auto it = leaves_.find(host); it != leaves_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.second);
    return it->second.first;
  }
  auto ctx = make_leaf(host);
  if (!ctx) return nullptr;
  if (leaves_.size() >= kMaxLeaves) {
    leaves_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(host);
  leaves_[host] = {ctx, lru_.begin()};
  return ctx;
}

std::shared_ptr<SSL_CTX> upstream_tls_context(const std::string& ca_file, std::string* error) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    *error = openssl_error("upstream TLS context");
    return nullptr;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const bool loaded = ca_file.empty()
                          ? SSL_CTX_set_default_verify_paths(ctx.get()) == 1
                          : SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) == 1;
  if (!loaded) {
    *error = openssl_error(ca_file.empty() ? "system trust store" : "upstream CA " + ca_file);
    return nullptr;
  }
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpnHttp11, sizeof kAlpnHttp11);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

}  // namespace enclave::backends::gvisor
