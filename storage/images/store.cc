#include "storage/images/store.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace enclave::images {
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxNames = 1000;  // manifests read per listing (hostile data dir)

std::string hex_of(const unsigned char* md, unsigned len) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::optional<std::string> read_small(const std::string& path, size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data(max + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  if (data.size() > max) return std::nullopt;
  return data;
}

bool write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out << text;
    out.flush();
    if (!out) return false;
  }
  return ::rename(tmp.c_str(), path.c_str()) == 0;
}

bool exists_in(const std::string& root, const char* rel) {
  struct stat st {};
  return ::lstat((root + "/" + rel).c_str(), &st) == 0;
}

int64_t mtime_ns(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::string images_dir(const std::string& data_dir) { return data_dir + "/images"; }

std::string rootfs_dir(const std::string& images_dir, const std::string& digest) {
  if (!valid_built_digest(digest)) return "";
  return images_dir + "/by-digest/" + digest.substr(7) + "/rootfs";
}

std::vector<std::string> languages_in(const std::string& root) {
  std::vector<std::string> out;
  const bool python = exists_in(root, "usr/bin/python3");
  if (python) out.push_back("python");
  if (exists_in(root, "usr/bin/node")) out.push_back("javascript");
  if (python && exists_in(root, "usr/bin/bash")) out.push_back("bash");
  return out;
}

api::Image host_default_image() {
  api::Image d;
  d.set_name(kDefaultImage);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::ifstream in("/var/lib/dpkg/status", std::ios::binary);
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0)
    EVP_DigestUpdate(ctx, buf, static_cast<size_t>(in.gcount()));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  d.set_digest("host:" + hex_of(md, len));
  for (const auto& l : languages_in("")) d.add_languages(l);
  return d;
}

Store::Store(std::string data_dir) : dir_(images_dir(data_dir)), default_(host_default_image()) {}

std::vector<api::Image> Store::read_manifests() const {
  std::vector<api::Image> out;
  std::error_code ec;
  fs::directory_iterator it(dir_ + "/names", ec), end;
  for (; !ec && it != end && out.size() < kMaxNames; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (file.size() < 6 || file.substr(file.size() - 5) != ".json") continue;
    auto text = read_small(it->path().string(), 64 * 1024);
    if (!text) continue;
    auto m = parse_manifest(*text);
    // The file's name must be the manifest's: a manifest cannot claim another image's name.
    if (!m || m->name() + ".json" != file) continue;
    if (!fs::is_directory(rootfs_dir(dir_, m->digest()), ec)) continue;
    out.push_back(std::move(*m));
  }
  return out;
}

Catalog Store::catalog() const {
  std::lock_guard lock(mu_);
  const int64_t now = mtime_ns(dir_ + "/names");
  if (now != names_mtime_ns_) {
    Catalog c;
    c.by_name[kDefaultImage] = default_;
    for (auto& m : read_manifests()) {
      const std::string name = m.name();
      c.by_name.emplace(name, std::move(m));  // `default` cannot be replaced
    }
    cached_ = std::move(c);
    names_mtime_ns_ = now;
  }
  return cached_;
}

std::optional<api::Image> Store::find(const std::string& name) const {
  auto c = catalog();
  auto it = c.by_name.find(name);
  if (it == c.by_name.end() || name == kDefaultImage) return std::nullopt;
  return it->second;
}

std::optional<api::Image> Store::find_by_inputs(const std::string& inputs) const {
  for (auto& m : read_manifests())
    if (!inputs.empty() && m.inputs() == inputs) return m;
  return std::nullopt;
}

Result<std::string> Store::make_work_dir() const {
  std::error_code ec;
  fs::create_directories(dir_ + "/work", ec);
  if (ec)
    return make_error(ErrorCode::kInternal, "io", "create " + dir_ + "/work: " + ec.message());
  ::chmod(dir_.c_str(), 0700);
  std::random_device rd;
  std::ostringstream name;
  name << dir_ << "/work/build-" << std::hex << rd() << rd();
  fs::create_directories(name.str(), ec);
  if (ec)
    return make_error(ErrorCode::kInternal, "io", "create " + name.str() + ": " + ec.message());
  return name.str();
}

Result<api::Image> Store::install(const std::string& tree, api::Image m) {
  const std::string root = rootfs_dir(dir_, m.digest());
  if (root.empty()) return make_error(ErrorCode::kInvalidArgument, "bad_digest", "bad digest");
  std::error_code ec;
  fs::create_directories(fs::path(root).parent_path(), ec);
  if (ec) return make_error(ErrorCode::kInternal, "io", "create " + root + ": " + ec.message());
  if (fs::exists(root, ec)) {
    fs::remove_all(tree, ec);  // the same content is stored already
  } else if (::rename(tree.c_str(), root.c_str()) != 0) {
    return make_error(ErrorCode::kInternal, "io",
                      "rename " + tree + " → " + root + ": " + std::strerror(errno));
  }
  return name_existing(std::move(m));
}

Result<api::Image> Store::name_existing(api::Image m) {
  if (!valid_image_name(m.name()) || m.name() == kDefaultImage)
    return make_error(ErrorCode::kInvalidArgument, "bad_name",
                      "image names are [a-z0-9][a-z0-9._-]{0,62} and not \"default\"");
  std::error_code ec;
  fs::create_directories(dir_ + "/names", ec);
  if (!write_atomically(dir_ + "/names/" + m.name() + ".json", manifest_json(m)))
    return make_error(ErrorCode::kInternal, "io", "write the manifest of " + m.name());
  return m;
}

std::optional<Error> Store::remove(const std::string& name) {
  auto m = find(name);
  if (!m) return make_error(ErrorCode::kNotFound, "not_found", "no image named \"" + name + "\"");
  std::error_code ec;
  fs::remove(dir_ + "/names/" + name + ".json", ec);
  if (ec) return make_error(ErrorCode::kInternal, "io", "remove " + name + ": " + ec.message());
  for (const auto& other : read_manifests())
    if (other.digest() == m->digest()) return std::nullopt;  // still named
  fs::remove_all(fs::path(rootfs_dir(dir_, m->digest())).parent_path(), ec);
  if (ec) return make_error(ErrorCode::kInternal, "io", "remove its tree: " + ec.message());
  return std::nullopt;
}

}  // namespace enclave::images
