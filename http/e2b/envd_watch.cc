#include "http/e2b/envd_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <vector>

#include "backends/session_files.h"
#include "http/e2b/connect_stream.h"
#include "http/json_io.h"

namespace enclave::http::e2b {

namespace sf = backends::files;

namespace {

// How often an idle watch says it is alive (the SDK asks for pings; any frame keeps it open).
constexpr int kKeepaliveMs = 30000;
// The files API's own temporary upload files are not the workload's events.
constexpr std::string_view kUploadPrefix = ".enclave-upload-";

const char* event_type(uint32_t mask) {
  if (mask & (IN_CREATE | IN_MOVED_TO)) return "EVENT_TYPE_CREATE";
  if (mask & IN_MODIFY) return "EVENT_TYPE_WRITE";
  if (mask & IN_DELETE) return "EVENT_TYPE_REMOVE";
  if (mask & IN_MOVED_FROM) return "EVENT_TYPE_RENAME";
  if (mask & IN_ATTRIB) return "EVENT_TYPE_CHMOD";
  return nullptr;
}

}  // namespace

struct DirWatches::Watch {
  sf::Fd dir;
  sf::Fd inotify;
  sf::Fd wake;  // eventfd: stop() writes it
  std::function<void(std::string, bool)> emit;
  std::mutex mu;
  bool stopped = false;
  std::thread thread;

  // Emits unless stopped; true if it went out.
  bool send(std::string frame, bool last) {
    std::lock_guard lock(mu);
    if (stopped) return false;
    emit(std::move(frame), last);
    if (last) stopped = true;
    return true;
  }

  void run() {
    send(connect::envelope(0, "{\"start\":{}}"), false);
    std::vector<char> buf(64 * 1024);
    for (;;) {
      pollfd fds[2] = {{inotify.get(), POLLIN, 0}, {wake.get(), POLLIN, 0}};
      int r = ::poll(fds, 2, kKeepaliveMs);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 || (fds[1].revents & POLLIN)) return;
      if (r == 0) {
        if (!send(connect::envelope(0, "{\"keepalive\":{}}"), false)) return;
        continue;
      }
      ssize_t n = ::read(inotify.get(), buf.data(), buf.size());
      if (n <= 0) continue;
      bool gone = false;
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) gone = true;
        std::string name = ev->len ? std::string(ev->name) : std::string();
        const char* type = event_type(ev->mask);
        if (!type || name.empty() || name.rfind(kUploadPrefix, 0) == 0) continue;
        if (!send(connect::envelope(0, "{\"filesystem\":{\"name\":" + json_quote(name) +
                                           ",\"type\":\"" + type + "\"}}"),
                  false))
          return;
      }
      if (gone) {
        send(connect::end_stream(
                 make_error(ErrorCode::kNotFound, "not_found", "the watched directory is gone")),
             true);
        return;
      }
    }
  }
};

DirWatches::~DirWatches() {
  std::map<uint64_t, std::shared_ptr<Watch>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(watches_);
  }
  for (auto& [id, w] : all) {
    {
      std::lock_guard lock(w->mu);
      w->stopped = true;
    }
    uint64_t one = 1;
    (void)::write(w->wake.get(), &one, sizeof one);
    if (w->thread.joinable()) w->thread.join();
  }
}

Result<uint64_t> DirWatches::start(int root, const files::SessionPath& dir,
                                   std::function<void(std::string, bool)> emit) {
  auto w = std::make_shared<Watch>();
  auto d = sf::open_dir(root, dir);
  if (!d) return d.error();
  w->dir = std::move(*d);
  w->inotify = sf::Fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  w->wake = sf::Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (w->inotify.get() < 0 || w->wake.get() < 0)
    return make_error(ErrorCode::kQuotaExceeded, "resource_exhausted",
                      "cannot watch more directories now");
  // The directory already open beneath the session's root: its /proc/self/fd link names exactly
  // it, whatever the path now points to.
  const std::string self = "/proc/self/fd/" + std::to_string(w->dir.get());
  if (::inotify_add_watch(w->inotify.get(), self.c_str(),
                          IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_DELETE | IN_MOVED_FROM |
                              IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |
                              IN_EXCL_UNLINK) < 0)
    return make_error(ErrorCode::kQuotaExceeded, "resource_exhausted",
                      "cannot watch " + dir.display() + " now");
  w->emit = std::move(emit);
  uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (watches_.size() >= max_)
      return make_error(ErrorCode::kQuotaExceeded, "resource_exhausted",
                        "too many directories are watched on this server");
    id = next_++;
    watches_[id] = w;
  }
  w->thread = std::thread([w] { w->run(); });
  return id;
}

void DirWatches::stop(uint64_t id) {
  std::shared_ptr<Watch> w;
  {
    std::lock_guard lock(mu_);
    auto it = watches_.find(id);
    if (it == watches_.end()) return;
    w = it->second;
    watches_.erase(it);
  }
  {
    std::lock_guard lock(w->mu);
    w->stopped = true;
  }
  uint64_t one = 1;
  (void)::write(w->wake.get(), &one, sizeof one);
  if (!w->thread.joinable()) return;
  if (w->thread.get_id() == std::this_thread::get_id())
    w->thread.detach();  // stopped from its own emit: it returns at once
  else
    w->thread.join();
}

}  // namespace enclave::http::e2b
