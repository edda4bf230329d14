#include "storage/private_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace enclave::storage {

std::string make_private(const std::string& dir) {
  // The dir first: once it is 0700 nothing below can be reached by another uid, whatever its mode.
  if (::chmod(dir.c_str(), 0700) != 0) return "chmod 0700 " + dir + ": " + std::strerror(errno);
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, ec), end;
  if (ec) return "list " + dir + ": " + ec.message();
  for (; it != end; it.increment(ec)) {
    if (ec) return "list " + dir + ": " + ec.message();
    struct stat st {};
    const std::string path = it->path().string();
    if (::lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) continue;
    const mode_t want = S_ISDIR(st.st_mode) ? 0700 : (st.st_mode & 0700);
    if ((st.st_mode & 07777) != want && ::chmod(path.c_str(), want) != 0)
      return "chmod " + path + ": " + std::strerror(errno);
    // Image root filesystems (images/store.h) are public software, not tenant data: their modes
    // are part of their content (and what the sandbox user may read); the dir itself is 0700.
    if (it.depth() == 0 && it->path().filename() == kImagesSubdir) it.disable_recursion_pending();
  }
  return "";
}

}  // namespace enclave::storage
