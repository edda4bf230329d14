// The content address of a root filesystem: SHA-256 over a canonical listing of the tree (every
// entry's relative path, type, permission bits, owner, and a file's SHA-256 or a symlink's
// target), in byte order of the paths. Times are not part of it, so the same packages unpacked
// twice give the same digest.
#pragma once

#include <cstdint>
#include <string>

#include "events/error.h"

namespace enclave::images {

struct TreeDigest {
  std::string digest;       // "sha256:<hex>"
  uint64_t size_bytes = 0;  // sum of regular files' sizes
  uint64_t entries = 0;
};

// Walks `root` without following symlinks. Errors name the path that could not be read.
[[nodiscard]] Result<TreeDigest> digest_tree(const std::string& root);

}  // namespace enclave::images
