// The files API's path rules (pure): which paths a client may name inside a session, and the
// artifact globs a batch session may ask to keep. Every path is hostile input: it is checked
// here, as text, before anything touches a file system — and then resolved beneath the
// session's own directory (backends/session_files.h), never by the host's path lookup.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "events/error.h"

namespace enclave::files {

// The session's writable working directory (its cwd and $HOME; E2B's convention).
inline constexpr std::string_view kHome = "/home/user";
inline constexpr size_t kMaxPathBytes = 1024;      // a whole path, as sent
inline constexpr size_t kMaxComponentBytes = 255;  // one name (NAME_MAX)
inline constexpr size_t kMaxDepth = 32;            // components below the root

// A checked path: `components` are the names below /home/user (empty: /home/user itself), each
// non-empty, never "." or "..", without '/' or NUL.
struct SessionPath {
  std::vector<std::string> components;
  std::string display() const;  // "/home/user/a/b"
  bool is_root() const { return components.empty(); }
};

// Checks a client's path. Accepted: absolute, under /home/user (which is itself accepted),
// within the length bounds, with printable UTF-8 names; repeated '/' and "." are dropped, a
// trailing '/' is allowed. Refused (400 path_forbidden, naming `field`): anything outside
// /home/user (incl. /tmp, which the API does not reach: it is the sandbox's own memory), a
// ".." anywhere, NUL or control bytes, over-long paths or names, deeper than kMaxDepth.
[[nodiscard]] Result<SessionPath> parse_session_path(std::string_view path,
                                                     const std::string& field = "path");

// An artifact glob as a batch request names it: relative to /home/user ("out/*.png") or absolute
// under it ("/home/user/out/*.png"); `*` and `?` match within one name, nothing else is special.
// Refused like paths (and "**" or a glob in a directory name is 400 invalid_argument: one level
// of matching per directory keeps collection bounded). Returns the normalised relative glob.
[[nodiscard]] Result<std::string> parse_artifact_glob(std::string_view glob,
                                                      const std::string& field = "artifacts");

// Whether `name` (one file name) matches one glob component (`*`, `?`, literal bytes).
bool glob_name_matches(std::string_view pattern, std::string_view name);

}  // namespace enclave::files
