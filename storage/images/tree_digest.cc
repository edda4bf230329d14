#include "storage/images/tree_digest.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace enclave::images {
namespace {

struct MdCtx {
  MdCtx() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~MdCtx() { EVP_MD_CTX_free(ctx); }
  void update(const void* d, size_t n) { EVP_DigestUpdate(ctx, d, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    static const char* h = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      out += h[md[i] >> 4];
      out += h[md[i] & 15];
    }
    return out;
  }
  EVP_MD_CTX* ctx;
};

class Walker {
 public:
  explicit Walker(std::string root) : root_(std::move(root)) {}

  std::string walk(const std::string& rel) {  // "" or what failed
    const std::string dir = rel.empty() ? root_ : root_ + "/" + rel;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) return "open " + dir + ": " + std::strerror(errno);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d.get())) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names.emplace_back(e->d_name);
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      const std::string r = rel.empty() ? n : rel + "/" + n;
      if (auto e = entry(r); !e.empty()) return e;
    }
    return "";
  }

  TreeDigest finish() { return {"sha256:" + all_.hex(), size_, entries_}; }

 private:
  std::string entry(const std::string& rel) {
    const std::string path = root_ + "/" + rel;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return "stat " + path + ": " + std::strerror(errno);
    ++entries_;
    char head[128];
    std::snprintf(head, sizeof head, "%o %u %u ", static_cast<unsigned>(st.st_mode),
                  static_cast<unsigned>(st.st_uid), static_cast<unsigned>(st.st_gid));
    std::string line = head + rel + '\0';
    if (S_ISREG(st.st_mode)) {
      auto h = file_hash(path);
      if (h.empty()) return "read " + path + ": " + std::strerror(errno);
      line += std::to_string(st.st_size) + " " + h;
      size_ += static_cast<uint64_t>(st.st_size);
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(4096, '\0');
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return "readlink " + path + ": " + std::strerror(errno);
      target.resize(static_cast<size_t>(n));
      line += target;
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      line += std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
    }
    line += '\n';
    all_.update(line.data(), line.size());
    if (S_ISDIR(st.st_mode)) return walk(rel);
    return "";
  }

  static std::string file_hash(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return "";
    MdCtx md;
    static thread_local std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        return "";
      }
      if (n == 0) break;
      md.update(buf.data(), static_cast<size_t>(n));
    }
    ::close(fd);
    return md.hex();
  }

  std::string root_;
  MdCtx all_;
  uint64_t size_ = 0, entries_ = 0;
};

}  // namespace

Result<TreeDigest> digest_tree(const std::string& root) {
  Walker w(root);
  if (auto e = w.walk(""); !e.empty()) return make_error(ErrorCode::kInternal, "io", e);
  return w.finish();
}

}  // namespace enclave::images
