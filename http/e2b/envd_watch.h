// envd's filesystem.Filesystem/WatchDir (the SDK's `files.watchDir`): a server stream of what
// happens in one directory of the sandbox's working directory, read with inotify on the host
// tmpfs the sandbox's /home/user is (writes from inside arrive through gVisor's gofer, which does
// them on that tmpfs). The directory is opened beneath the working directory's fd first (never
// by path lookup; a symlink on the way is refused), and the watch is put on that open directory.
// Not recursive. The stream is Connect's (application/connect+json envelopes): {"start":{}}, then
// {"filesystem":{"name","type":"EVENT_TYPE_…"}} per event, then the end-of-stream envelope when
// the directory goes away (deleted, or the session's directory unmounted) or the client leaves.
// Each watch is one thread; at most `max_watches` at once (more: resource_exhausted).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "events/error.h"
#include "events/requests/file_path.h"

namespace enclave::http::e2b {

class DirWatches {
 public:
  explicit DirWatches(size_t max_watches = 64) : max_(max_watches) {}
  ~DirWatches();  // stops every watch and joins its thread
  DirWatches(const DirWatches&) = delete;
  DirWatches& operator=(const DirWatches&) = delete;

  // Starts watching `dir` beneath the open working directory `root` (not taken: duplicated).
  // `emit(frame, last)` gets the stream's envelopes from the watch's thread. Returns the watch's
  // id for stop(). Errors: not_found, path_forbidden (a symlink on the way), not a directory,
  // resource_exhausted (too many watches).
  [[nodiscard]] Result<uint64_t> start(int root, const files::SessionPath& dir,
                                       std::function<void(std::string, bool)> emit);
  // Stops a watch (the client went away); nothing more is emitted after it returns.
  void stop(uint64_t id);

 private:
  struct Watch;
  std::mutex mu_;
  std::map<uint64_t, std::shared_ptr<Watch>> watches_;
  uint64_t next_ = 1;
  size_t max_;
};

}  // namespace enclave::http::e2b
