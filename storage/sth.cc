#include "storage/sth.h"

#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "events/codec/base64.h"
#include "events/ids.h"
#include "storage/event_log.h"

namespace enclave::storage {

namespace {

Error invalid(const std::string& field, const std::string& what) {
  Error e = make_error(ErrorCode::kInvalidArgument, "invalid_sth", what);
  e.field = field;
  return e;
}

std::shared_ptr<void> own(EVP_PKEY* k) {
  return std::shared_ptr<void>(k, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}

bool is_hex(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    auto v = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    out.push_back(static_cast<char>(v(hex[i]) << 4 | v(hex[i + 1])));
  }
  return out;
}

// PEM and keyId of a key's public half.
bool describe_public(EVP_PKEY* k, std::string* pem, std::string* key_id) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(k, &der);
  if (n <= 0) return false;
  *key_id = to_hex(sha256(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(n))));
  OPENSSL_free(der);
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return false;
  bool ok = PEM_write_bio_PUBKEY(bio, k) == 1;
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (ok && len > 0) pem->assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  return ok;
}

}  // namespace

std::string sth_message(const TreeHead& th) {
  return "enclave-sth-v1\n" + std::to_string(th.tree_size) + "\n" + to_hex(th.root_hash) + "\n" +
         th.timestamp;
}

std::string sth_json(const TreeHead& th) {
  return "{\"treeSize\":" + std::to_string(th.tree_size) + ",\"rootHash\":\"" +
         to_hex(th.root_hash) + "\",\"timestamp\":\"" + th.timestamp + "\",\"keyId\":\"" +
         th.key_id + "\",\"signature\":\"" + base64_encode(th.signature) + "\"}";
}

Result<TreeHead> parse_sth_json(std::string_view text) {
  if (text.size() > 64 * 1024) return invalid("", "an STH is at most 64 KiB");
  google::protobuf::Struct obj;
  google::protobuf::util::JsonParseOptions opts;
  if (!google::protobuf::util::JsonStringToMessage(std::string(text), &obj, opts).ok())
    return invalid("", "not a JSON object");
  const auto& f = obj.fields();
  auto str = [&](const char* name, std::string* out) -> std::optional<Error> {
    auto it = f.find(name);
    if (it == f.end() || !it->second.has_string_value() || it->second.string_value().size() > 256)
      return invalid(name, std::string(name) + " must be a string");
    *out = it->second.string_value();
    return std::nullopt;
  };
  TreeHead th;
  auto size = f.find("treeSize");
  if (size == f.end() || !size->second.has_number_value())
    return invalid("treeSize", "treeSize must be a number");
  double n = size->second.number_value();
  if (!(n >= 0) || n > 9007199254740992.0 || std::floor(n) != n)
    return invalid("treeSize", "treeSize must be a whole number ≥ 0");
  th.tree_size = static_cast<uint64_t>(n);
  std::string root, sig;
  if (auto e = str("rootHash", &root)) return *e;
  if (!is_hex(root, 64)) return invalid("rootHash", "rootHash must be 64 lowercase hex digits");
  th.root_hash = from_hex(root);
  if (auto e = str("timestamp", &th.timestamp)) return *e;
  if (auto e = str("keyId", &th.key_id)) return *e;
  if (auto e = str("signature", &sig)) return *e;
  auto raw = base64_decode(sig);
  if (!raw || raw->size() != 64)
    return invalid("signature", "signature must be base64 of 64 bytes");
  th.signature = *raw;
  return th;
}

Result<PublicKey> PublicKey::from_pem(std::string_view pem) {
  if (pem.size() > 16 * 1024) return invalid("publicKey", "a public key PEM is at most 16 KiB");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  if (bio) BIO_free(bio);
  if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
    if (k) EVP_PKEY_free(k);
    return invalid("publicKey", "not a PEM Ed25519 public key");
  }
  PublicKey p;
  p.key_ = own(k);
  if (!describe_public(k, &p.pem_, &p.key_id_))
    return invalid("publicKey", "cannot encode the public key");
  return p;
}

bool PublicKey::verifies(const TreeHead& th) const {
  if (!key_ || th.key_id != key_id_ || th.signature.size() != 64) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  const std::string msg = sth_message(th);
  return ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr,
                              static_cast<EVP_PKEY*>(key_.get())) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(th.signature.data()),
                          th.signature.size(), reinterpret_cast<const unsigned char*>(msg.data()),
                          msg.size()) == 1;
}

Result<bool> SigningKey::create_file(const std::string& path) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!k) return make_error(ErrorCode::kInternal, "keygen_failed", "Ed25519 key generation failed");
  auto owned = own(k);
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    if (bio) BIO_free(bio);
    return make_error(ErrorCode::kInternal, "keygen_failed", "cannot encode the key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(
        ErrorCode::kConflict, "key_file_exists",
        "cannot create " + path + " (it must not exist yet): " + std::strerror(errno));
  bool ok =
      ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return make_error(ErrorCode::kInternal, "write_failed", "cannot write " + path);
  return true;
}

Result<SigningKey> SigningKey::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid("signingKey", "cannot read the signing key " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  if (bio) BIO_free(bio);
  if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
    if (k) EVP_PKEY_free(k);
    return invalid("signingKey", path +
                                     " is not a PEM Ed25519 private key "
                                     "(make one with `enclaved signing-key create FILE`)");
  }
  SigningKey s;
  s.key_ = own(k);
  s.public_.key_ = s.key_;
  if (!describe_public(k, &s.public_.pem_, &s.public_.key_id_))
    return invalid("signingKey", "cannot encode the public key of " + path);
  return s;
}

void SigningKey::sign(TreeHead& th) const {
  th.key_id = public_.key_id();
  const std::string msg = sth_message(th);
  unsigned char sig[64];
  size_t len = sizeof sig;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (ctx &&
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr,
                         static_cast<EVP_PKEY*>(key_.get())) == 1 &&
      EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(msg.data()),
                     msg.size()) == 1)
    th.signature.assign(reinterpret_cast<char*>(sig), len);
  else
    th.signature.clear();
}

}  // namespace enclave::storage
