#include "backends/session_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace enclave::backends::files {

namespace {

constexpr uint64_t kResolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
constexpr int kMaxListDepth = 8;
constexpr int kMaxRemoveDepth = 64;

// openat2 beneath `dir`: the kernel resolves `rel` in one step and refuses symlinks and escapes.
int open_beneath(int dir, const std::string& rel, int flags, mode_t mode = 0) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = kResolve;
  for (;;) {
    long r = ::syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof how);
    if (r >= 0 || errno != EAGAIN) return static_cast<int>(r);
    // EAGAIN: a concurrent rename raced the lookup; the kernel asks for a retry.
  }
}

std::string join(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? "/" : "") + parts[i];
  return out.empty() ? "." : out;
}

// The error for a failed call on `what`.
Error from_errno(int err, const std::string& what) {
  switch (err) {
    case ELOOP:
    case EXDEV:
      return make_error(ErrorCode::kInvalidArgument, "path_forbidden",
                        what + ": the path goes through a symbolic link", "path");
    case ENOENT:
      return make_error(ErrorCode::kNotFound, "not_found", what + ": no such file or directory",
                        "path");
    case ENOTDIR:
      return make_error(ErrorCode::kConflict, "not_a_directory",
                        what + ": a part of the path is not a directory", "path");
    case EISDIR:
      return make_error(ErrorCode::kConflict, "is_a_directory", what + ": is a directory", "path");
    case EEXIST:
    case ENOTEMPTY:
      return make_error(ErrorCode::kConflict, "already_exists", what + ": exists already", "path");
    case ENOSPC:
    case EDQUOT:
      return make_error(ErrorCode::kInsufficientStorage, "insufficient_storage",
                        what + ": the session's working directory is full (limits.diskMb)",
                        "limits.diskMb");
    case ENAMETOOLONG:
      return make_error(ErrorCode::kInvalidArgument, "path_forbidden", what + ": name too long",
                        "path");
    default:
      return make_error(ErrorCode::kInternal, "internal", what + ": " + std::strerror(err));
  }
}

// Opens the directory holding `p`'s last name; with `owner`, creates the missing ones (owned by
// it, 0755), one name at a time, each step beneath the last directory opened.
Result<Fd> open_parent(int root, const SessionPath& p, const Owner* create) {
  const auto& c = p.components;
  const size_t n = c.empty() ? 0 : c.size() - 1;
  if (!create) {
    Fd d(open_beneath(root, join(c, n), O_PATH | O_DIRECTORY));
    if (d.get() < 0) return from_errno(errno, p.display());
    return d;
  }
  Fd dir(open_beneath(root, ".", O_PATH | O_DIRECTORY));
  if (dir.get() < 0) return from_errno(errno, p.display());
  for (size_t i = 0; i < n; ++i) {
    if (::mkdirat(dir.get(), c[i].c_str(), 0755) == 0) {
      (void)::fchownat(dir.get(), c[i].c_str(), create->uid, create->gid, AT_SYMLINK_NOFOLLOW);
    } else if (errno != EEXIST) {
      return from_errno(errno, p.display());
    }
    Fd next(open_beneath(dir.get(), c[i], O_PATH | O_DIRECTORY));
    if (next.get() < 0) return from_errno(errno, p.display());
    dir = std::move(next);
  }
  return dir;
}

std::string hex(const unsigned char* md, unsigned len) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

const char* type_of(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "dir";
  if (S_ISLNK(m)) return "symlink";
  return "other";
}

Entry entry_of(const std::string& name, const std::string& path, const struct stat& st) {
  Entry e;
  e.name = name;
  e.path = path;
  e.type = type_of(st.st_mode);
  e.size = static_cast<uint64_t>(st.st_size);
  e.mode = st.st_mode & 07777;
  e.modified_ms = int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000;
  return e;
}

// The names in an open directory (not "." or "..").
std::vector<std::string> names_in(int dir_fd) {
  std::vector<std::string> out;
  int dup = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return out;
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return out;
  }
  while (auto* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  ::closedir(d);
  return out;
}

void list_into(int dir_fd, const std::string& display, int depth, size_t max, Listing* out) {
  for (const auto& name : names_in(dir_fd)) {
    if (out->entries.size() >= max) {
      out->truncated = true;
      return;
    }
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string path = display + "/" + name;
    out->entries.push_back(entry_of(name, path, st));
    if (depth > 1 && S_ISDIR(st.st_mode)) {
      Fd sub(open_beneath(dir_fd, name, O_RDONLY | O_DIRECTORY));
      if (sub.get() >= 0) list_into(sub.get(), path, depth - 1, max, out);
    }
  }
}

// Empties and removes the directory `name` in `parent`, never following a symlink inside.
int remove_tree(int parent, const std::string& name, int depth) {
  if (depth > kMaxRemoveDepth) return ELOOP;
  Fd dir(open_beneath(parent, name, O_RDONLY | O_DIRECTORY));
  if (dir.get() < 0) return errno;
  for (const auto& child : names_in(dir.get())) {
    struct stat st;
    if (::fstatat(dir.get(), child.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (int e = remove_tree(dir.get(), child, depth + 1)) return e;
    } else if (::unlinkat(dir.get(), child.c_str(), 0) != 0 && errno != ENOENT) {
      return errno;
    }
  }
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) return errno;
  return 0;
}

}  // namespace

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Result<Fd> open_root(const std::string& host_dir) {
  Fd d(::open(host_dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (d.get() < 0)
    return make_error(ErrorCode::kConflict, "session_not_running",
                      "the session's working directory is gone");
  return d;
}

Result<Fd> open_dir(int root, const SessionPath& path) {
  Fd d(open_beneath(root, join(path.components, path.components.size()), O_RDONLY | O_DIRECTORY));
  if (d.get() < 0) return from_errno(errno, path.display());
  return d;
}

struct Upload::Hash {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Hash() { EVP_MD_CTX_free(ctx); }
};

Result<std::unique_ptr<Upload>> Upload::begin(int root, const SessionPath& path, uint64_t max_bytes,
                                              Owner owner) {
  if (path.is_root())
    return make_error(ErrorCode::kConflict, "is_a_directory", "/home/user is a directory", "path");
  auto parent = open_parent(root, path, &owner);
  if (!parent) return parent.error();
  std::unique_ptr<Upload> u(new Upload());
  u->parent_ = std::move(*parent);
  u->name_ = path.components.back();
  u->max_ = max_bytes;
  std::random_device rd;
  for (int attempt = 0; attempt < 8 && u->file_.get() < 0; ++attempt) {
    char tmp[64];
    std::snprintf(tmp, sizeof tmp, ".enclave-upload-%08x%08x", rd(), rd());
    u->tmp_name_ = tmp;
    // O_PATH parent: openat2 needs a real dir fd for O_CREAT; resolve "tmp" beneath it.
    u->file_ = Fd(open_beneath(u->parent_.get(), u->tmp_name_,
                               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644));
    if (u->file_.get() < 0 && errno != EEXIST) return from_errno(errno, path.display());
  }
  if (u->file_.get() < 0) return from_errno(EEXIST, path.display());
  (void)::fchown(u->file_.get(), owner.uid, owner.gid);
  u->hash_ = std::make_unique<Hash>();
  EVP_DigestInit_ex(u->hash_->ctx, EVP_sha256(), nullptr);
  return u;
}

Upload::~Upload() {
  if (!committed_ && !tmp_name_.empty() && parent_.get() >= 0)
    (void)::unlinkat(parent_.get(), tmp_name_.c_str(), 0);
}

std::optional<Error> Upload::write(const char* data, size_t n) {
  if (size_ + n > max_)
    return make_error(
        ErrorCode::kTooLarge, "too_large",
        "the upload is larger than " + std::to_string(max_ >> 20) + " MiB (--max-upload-mb)",
        "body");
  EVP_DigestUpdate(hash_->ctx, data, n);
  size_ += n;
  while (n > 0) {
    ssize_t w = ::write(file_.get(), data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return from_errno(errno, "/home/user/" + name_);
    data += w;
    n -= static_cast<size_t>(w);
  }
  return std::nullopt;
}

Result<FileFacts> Upload::commit() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(hash_->ctx, md, &len);
  file_ = Fd();
  if (::renameat(parent_.get(), tmp_name_.c_str(), parent_.get(), name_.c_str()) != 0)
    return from_errno(errno, name_);
  committed_ = true;
  return FileFacts{size_, hex(md, len)};
}

Result<FileFacts> write_file(int root, const SessionPath& path, const std::string& bytes,
                             Owner owner) {
  auto u = Upload::begin(root, path, bytes.size(), owner);
  if (!u) return u.error();
  if (auto e = (*u)->write(bytes.data(), bytes.size())) return *e;
  return (*u)->commit();
}

Result<OpenFile> open_file(int root, const SessionPath& path) {
  // O_NONBLOCK: a FIFO the workload planted must not hang the server in open().
  Fd fd(open_beneath(root, join(path.components, path.components.size()),
                     O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) return from_errno(errno, path.display());
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return from_errno(errno, path.display());
  if (S_ISDIR(st.st_mode)) return from_errno(EISDIR, path.display());
  if (!S_ISREG(st.st_mode))
    return make_error(ErrorCode::kConflict, "not_a_file", path.display() + ": not a regular file",
                      "path");
  int flags = ::fcntl(fd.get(), F_GETFL);
  (void)::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  return OpenFile{std::move(fd), static_cast<uint64_t>(st.st_size)};
}

Result<Listing> list_dir(int root, const SessionPath& path, int depth, size_t max_entries) {
  if (depth < 1 || depth > kMaxListDepth)
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument", "depth must be 1..8",
                      "depth");
  Fd dir(open_beneath(root, join(path.components, path.components.size()), O_RDONLY | O_DIRECTORY));
  if (dir.get() < 0) return from_errno(errno, path.display());
  Listing out;
  list_into(dir.get(), path.display(), depth, max_entries, &out);
  return out;
}

Result<Entry> stat_path(int root, const SessionPath& path) {
  if (path.is_root()) {
    struct stat st;
    if (::fstat(root, &st) != 0) return from_errno(errno, path.display());
    return entry_of("user", path.display(), st);
  }
  auto parent = open_parent(root, path, nullptr);
  if (!parent) return parent.error();
  struct stat st;
  if (::fstatat(parent->get(), path.components.back().c_str(), &st,
                AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0)
    return from_errno(errno, path.display());
  return entry_of(path.components.back(), path.display(), st);
}

std::optional<Error> remove_path(int root, const SessionPath& path) {
  if (path.is_root())
    return make_error(ErrorCode::kInvalidArgument, "path_forbidden",
                      "/home/user itself cannot be removed", "path");
  auto parent = open_parent(root, path, nullptr);
  if (!parent) return parent.error();
  const auto& name = path.components.back();
  struct stat st;
  if (::fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return from_errno(errno, path.display());
  // unlinkat needs a real directory fd; re-open the O_PATH parent as one, beneath the root.
  Fd dir(open_beneath(parent->get(), ".", O_RDONLY | O_DIRECTORY));
  if (dir.get() < 0) return from_errno(errno, path.display());
  if (S_ISDIR(st.st_mode)) {
    if (int e = remove_tree(dir.get(), name, 0)) return from_errno(e, path.display());
    return std::nullopt;
  }
  if (::unlinkat(dir.get(), name.c_str(), 0) != 0) return from_errno(errno, path.display());
  return std::nullopt;
}

std::optional<Error> make_dir(int root, const SessionPath& path, Owner owner) {
  if (path.is_root()) return from_errno(EEXIST, path.display());
  auto parent = open_parent(root, path, &owner);
  if (!parent) return parent.error();
  const auto& name = path.components.back();
  if (::mkdirat(parent->get(), name.c_str(), 0755) != 0) return from_errno(errno, path.display());
  (void)::fchownat(parent->get(), name.c_str(), owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW);
  return std::nullopt;
}

std::optional<Error> move_path(int root, const SessionPath& from, const SessionPath& to,
                               Owner owner) {
  if (from.is_root() || to.is_root())
    return make_error(ErrorCode::kInvalidArgument, "path_forbidden",
                      "/home/user itself cannot be moved or replaced",
                      from.is_root() ? "from" : "to");
  auto src = open_parent(root, from, nullptr);
  if (!src) return src.error();
  auto dst = open_parent(root, to, &owner);
  if (!dst) return dst.error();
  // renameat never follows a symlink in either last name: a link there is what moves or goes.
  if (::renameat(src->get(), from.components.back().c_str(), dst->get(),
                 to.components.back().c_str()) != 0)
    return from_errno(errno, from.display() + " → " + to.display());
  return std::nullopt;
}

Collection collect_artifacts(int root, const std::vector<std::string>& globs, size_t max_count,
                             uint64_t max_each, uint64_t max_total) {
  Collection out;
  uint64_t total = 0;
  std::vector<std::string> taken;
  for (const auto& glob : globs) {
    auto parsed = enclave::files::parse_artifact_glob(glob);
    if (!parsed) continue;
    auto p = enclave::files::parse_session_path(std::string(enclave::files::kHome) + "/" + *parsed);
    if (!p || p->is_root()) continue;
    const std::string pattern = p->components.back();
    SessionPath dir_path;
    dir_path.components.assign(p->components.begin(), p->components.end() - 1);
    Fd dir(open_beneath(root, join(dir_path.components, dir_path.components.size()),
                        O_RDONLY | O_DIRECTORY));
    if (dir.get() < 0) continue;
    for (const auto& name : names_in(dir.get())) {
      if (!enclave::files::glob_name_matches(pattern, name)) continue;
      SessionPath fp = dir_path;
      fp.components.push_back(name);
      const std::string display = fp.display();
      bool dup = false;
      for (const auto& t : taken) dup = dup || t == display;
      if (dup) continue;
      auto f = open_file(dir.get(), SessionPath{{name}});
      if (!f) continue;  // not a regular file (a symlink, a dir, a FIFO): never collected
      if (out.files.size() >= max_count || f->size > max_each || total + f->size > max_total) {
        out.skipped.push_back(display + ": over the artifact bounds");
        continue;
      }
      std::string content;
      content.resize(f->size);
      size_t got = 0;
      while (got < content.size()) {
        ssize_t r = ::read(f->fd.get(), content.data() + got, content.size() - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += static_cast<size_t>(r);
      }
      content.resize(got);  // the workload may have shrunk it meanwhile
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned len = 0;
      EVP_Digest(content.data(), content.size(), md, &len, EVP_sha256(), nullptr);
      total += content.size();
      taken.push_back(display);
      Collected c;
      c.path = display;
      c.facts = FileFacts{content.size(), hex(md, len)};
      c.content = std::move(content);
      out.files.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace enclave::backends::files
