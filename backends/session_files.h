// File operations inside a session's working directory (its /home/user), done on the host
// beneath the directory's fd: every lookup is `openat2` with RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, so a path the workload plants (a symlink to `/`,
// to the data dir, to another session, /proc/self, or a link swapped in between two calls) can
// never make an operation touch anything outside that directory — the kernel resolves each path
// in one step, relative to the fd, and refuses any symlink on the way. Paths come in already
// checked (events/requests/file_path.h). Errors are values: 400 path_forbidden (a symlink on the
// path), 404 not_found, 409 (wrong kind of file), 507 insufficient_storage (the directory's size
// cap).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/error.h"
#include "events/requests/file_path.h"

namespace enclave::backends::files {

using enclave::files::SessionPath;

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

// Who owns what the API creates (the sandbox's user, so the workload can change it).
struct Owner {
  uid_t uid = 65534;
  gid_t gid = 65534;
};

// Opens a working directory (the host path a backend hands out) as the root of every operation.
[[nodiscard]] Result<Fd> open_root(const std::string& host_dir);

// Opens a directory beneath `root` (read-only; a symlink on the way refused like every lookup).
[[nodiscard]] Result<Fd> open_dir(int root, const SessionPath& path);

struct FileFacts {
  uint64_t size = 0;
  std::string sha256;  // hex
};

// A file being written, streamed: bytes go to a temporary file beside the target, hashed as they
// pass; commit() renames it over the target (a symlink there is replaced, never followed);
// destroying an uncommitted upload removes the temporary file. Missing parent dirs are created.
class Upload {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Upload>> begin(int root, const SessionPath& path,
                                                             uint64_t max_bytes, Owner owner = {});
  ~Upload();
  // The next bytes. An error (over max_bytes: 413 too_large; the cap: 507) ends the upload.
  [[nodiscard]] std::optional<Error> write(const char* data, size_t n);
  [[nodiscard]] Result<FileFacts> commit();

 private:
  Upload() = default;
  struct Hash;
  Fd parent_, file_;
  std::string tmp_name_, name_;
  uint64_t size_ = 0, max_ = 0;
  std::unique_ptr<Hash> hash_;
  bool committed_ = false;
};

// Writes a whole file (staging a request's files): Upload in one call.
[[nodiscard]] Result<FileFacts> write_file(int root, const SessionPath& path,
                                           const std::string& bytes, Owner owner = {});

// A regular file opened for reading (never a FIFO, device or symlink), with its size.
struct OpenFile {
  Fd fd;
  uint64_t size = 0;
};
[[nodiscard]] Result<OpenFile> open_file(int root, const SessionPath& path);

struct Entry {
  std::string name;
  std::string path;  // "/home/user/…"
  std::string type;  // "file" | "dir" | "symlink" | "other"
  uint64_t size = 0;
  uint32_t mode = 0;  // permission bits
  int64_t modified_ms = 0;
};
// Lists a directory, `depth` levels deep (1: its own entries; at most 8); never follows a
// symlink (it is listed as one). At most `max_entries`; `truncated` says when more were left.
struct Listing {
  std::vector<Entry> entries;
  bool truncated = false;
};
[[nodiscard]] Result<Listing> list_dir(int root, const SessionPath& path, int depth,
                                       size_t max_entries = 10000);

// Whether something exists at `path` (a symlink counts; never followed), and what.
[[nodiscard]] Result<Entry> stat_path(int root, const SessionPath& path);

// Removes a file, a symlink (not what it points to) or a whole directory tree. Not the root.
[[nodiscard]] std::optional<Error> remove_path(int root, const SessionPath& path);
// Creates a directory and its missing parents; 409 already_exists if it exists.
[[nodiscard]] std::optional<Error> make_dir(int root, const SessionPath& path, Owner owner = {});
// Renames `from` to `to` (missing parents of `to` created); replaces a file at `to`.
[[nodiscard]] std::optional<Error> move_path(int root, const SessionPath& from,
                                             const SessionPath& to, Owner owner = {});

// A batch run's artifacts: regular files matching the globs (relative, "out/*.png", as
// parse_artifact_glob returns them), at most `max_count` files of at most `max_each` bytes,
// `max_total` in all; what does not fit is skipped (logged by the caller via `skipped`).
struct Collected {
  std::string path;  // "/home/user/…"
  std::string content;
  FileFacts facts;
};
struct Collection {
  std::vector<Collected> files;
  std::vector<std::string> skipped;  // "path: why"
};
[[nodiscard]] Collection collect_artifacts(int root, const std::vector<std::string>& globs,
                                           size_t max_count, uint64_t max_each, uint64_t max_total);

}  // namespace enclave::backends::files
