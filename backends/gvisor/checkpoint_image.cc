#include "backends/gvisor/checkpoint_image.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace enclave::backends::gvisor {

ImageFacts measure_image(const std::string& dir, uint64_t max_bytes) {
  ImageFacts f;
  const std::string path = dir + "/" + kImageFile;
  // O_NOFOLLOW: a symlink planted in the data dir must not make us read (or restore) another file.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    f.error = "open " + path + ": " + std::strerror(errno);
    return f;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    f.error = path + " is not a regular file";
    return f;
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    f.error = path + " is " + std::to_string(st.st_size) + " bytes, over the bound of " +
              std::to_string(max_bytes);
    return f;
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      f.error = "read " + path + ": " + std::strerror(errno);
      ::close(fd);
      return f;
    }
    if (n == 0) break;
    f.bytes += static_cast<uint64_t>(n);
    if (f.bytes > max_bytes) {  // grew while we read
      f.error = path + " grew over the bound of " + std::to_string(max_bytes) + " bytes";
      ::close(fd);
      return f;
    }
    EVP_DigestUpdate(ctx.get(), buf, static_cast<size_t>(n));
  }
  ::close(fd);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char* hex = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) {
    f.sha256 += hex[md[i] >> 4];
    f.sha256 += hex[md[i] & 15];
  }
  return f;
}

std::string check_image(const std::string& dir, const std::string& sha256, uint64_t max_bytes) {
  auto f = measure_image(dir, max_bytes);
  if (!f.error.empty()) return f.error;
  if (sha256.size() != 64 || f.sha256 != sha256)
    return "checkpoint image sha256 " + f.sha256 + " is not the recorded " + sha256;
  return "";
}

}  // namespace enclave::backends::gvisor
