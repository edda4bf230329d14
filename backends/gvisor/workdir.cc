#include "backends/gvisor/workdir.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "backends/gvisor/process.h"
#include "backends/session_files.h"
#include "events/requests/file_path.h"

namespace enclave::backends::gvisor {

namespace {

// What a batch run may leave behind as artifacts (they are stored in the event log).
constexpr size_t kMaxArtifacts = 64;
constexpr uint64_t kMaxArtifactBytes = 16ull << 20;
constexpr uint64_t kMaxArtifactTotalBytes = 64ull << 20;

}  // namespace

std::string workdir_path(const std::string& session_dir) { return session_dir + "/home"; }

std::string mount_workdir(const std::string& session_dir, int size_mb) {
  const std::string dir = workdir_path(session_dir);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return "mkdir " + dir + ": " + std::strerror(errno);
  const std::string opts =
      "size=" + std::to_string(size_mb) + "m,mode=0755,uid=65534,gid=65534,nr_inodes=65536";
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0)
    return "mount tmpfs at " + dir + ": " + std::strerror(errno);
  return "";
}

void unmount_workdir(const std::string& session_dir) {
  const std::string dir = workdir_path(session_dir);
  // A failure leaves the mount: the teardown's removal of the dir then fails and reports it.
  (void)::umount2(dir.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
}

std::string stage_files(const std::string& session_dir, const events::SessionSpec& spec) {
  if (spec.files().empty()) return "";
  auto root = files::open_root(workdir_path(session_dir));
  if (!root) return root.error().message;
  for (const auto& f : spec.files()) {
    auto p = enclave::files::parse_session_path(f.path());
    if (!p) return "staged file " + f.path() + ": " + p.error().message;
    auto w = files::write_file(root->get(), *p, f.content());
    if (!w) return "staged file " + f.path() + ": " + w.error().message;
  }
  return "";
}

std::vector<events::ArtifactCollected> collect_artifacts(const std::string& session_dir,
                                                         const events::SessionSpec& spec) {
  std::vector<events::ArtifactCollected> out;
  if (spec.artifacts().empty()) return out;
  auto root = files::open_root(workdir_path(session_dir));
  if (!root) return out;
  std::vector<std::string> globs(spec.artifacts().begin(), spec.artifacts().end());
  auto c = files::collect_artifacts(root->get(), globs, kMaxArtifacts, kMaxArtifactBytes,
                                    kMaxArtifactTotalBytes);
  // c.skipped (over the bounds) is not recorded: the listing shows what was kept.
  for (auto& f : c.files) {
    events::ArtifactCollected a;
    a.set_path(f.path);
    a.set_size(f.facts.size);
    a.set_sha256(f.facts.sha256);
    a.set_content(std::move(f.content));
    out.push_back(std::move(a));
  }
  return out;
}

std::string save_workdir(const std::string& session_dir, const std::string& image_dir) {
  const std::string home = image_dir + "/home";
  if (::mkdir(home.c_str(), 0700) != 0) return "create " + home + ": " + std::strerror(errno);
  auto r = run_command({"/bin/cp", "-a", "--", workdir_path(session_dir) + "/.", home},
                       std::chrono::seconds(60));
  if (r.exit_code != 0) return "save the working directory: " + r.output.substr(0, 300);
  return "";
}

std::string restore_workdir(const std::string& image_dir, const std::string& session_dir) {
  const std::string home = image_dir + "/home";
  struct stat st {};
  if (::lstat(home.c_str(), &st) != 0) return "";  // an image without one: nothing to put back
  if (!S_ISDIR(st.st_mode)) return home + " is not a directory";
  auto r = run_command({"/bin/cp", "-a", "--", home + "/.", workdir_path(session_dir)},
                       std::chrono::seconds(60));
  if (r.exit_code != 0) return "restore the working directory: " + r.output.substr(0, 300);
  return "";
}

}  // namespace enclave::backends::gvisor
