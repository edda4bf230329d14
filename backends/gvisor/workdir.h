// A sandbox's working directory (/home/user, issue 20): a host tmpfs of limits.diskMb, owned by
// the sandbox user, bind-mounted read-write into the sandbox — writes past its size fail with
// ENOSPC inside (and in the files API), never on the host's disk. The files API works on it from
// the host, beneath its fd (backends/session_files.h).
#pragma once

#include <string>
#include <vector>

#include "events/events.pb.h"

namespace enclave::backends::gvisor {

// `<session dir>/home`: where the working directory of the sandbox in `session_dir` lives.
std::string workdir_path(const std::string& session_dir);

// Creates and mounts the working directory (tmpfs, `size_mb`, nosuid, nodev, uid/gid 65534,
// 0755). "" or what failed.
std::string mount_workdir(const std::string& session_dir, int size_mb);

// Unmounts it (lazily: a runsc gofer may still hold it); a no-op if it is not mounted.
void unmount_workdir(const std::string& session_dir);

// Checkpoints (docs/PAUSE.md): the working directory is not in gVisor's image, so its files are
// copied (`cp -a`: links as links, modes and owners kept) to `<image_dir>/home` after a
// checkpoint, and back into a new sandbox's working directory before its restore. The image dir
// is hostile on the way back: its `home` must be a real directory (not a link); what it holds
// lands only inside the new tmpfs (nodev, nosuid, capped: too much is an error). "" or what
// failed; no `home` in the image dir is nothing to restore.
std::string save_workdir(const std::string& session_dir, const std::string& image_dir);
std::string restore_workdir(const std::string& image_dir, const std::string& session_dir);

// Writes a request's staged files into it (beneath its fd, as the files API does). "" or what
// failed.
std::string stage_files(const std::string& session_dir, const events::SessionSpec& spec);

// A batch run's artifacts, collected from it (bounded; see the constants in workdir.cc).
std::vector<events::ArtifactCollected> collect_artifacts(const std::string& session_dir,
                                                         const events::SessionSpec& spec);

}  // namespace enclave::backends::gvisor
