// Private at rest: the data dir holds every env value and code a tenant sent (in the log and its
// WAL). Nothing in it may be readable by another uid — sandboxes run as uid 65534 on this host.
#pragma once

#include <string>

namespace enclave::storage {

// Makes `dir` mode 0700 and every directory under it 0700 and every other entry owner-only
// (group/other bits cleared), without following symlinks. A data dir written by an older build,
// or under a loose umask, is private from this call on (the 0700 dir alone already bars other
// uids from what lies inside). Returns "" or what could not be changed.
// The data dir's image store (images/store.h) is made 0700 but not walked into.
inline constexpr const char* kImagesSubdir = "images";
[[nodiscard]] std::string make_private(const std::string& dir);

}  // namespace enclave::storage
