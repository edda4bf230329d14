#include "backends/gvisor/result_channel.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backends/gvisor/unix_listener.h"

namespace enclave::backends::gvisor {

ResultChannel::~ResultChannel() { close_all(); }

std::string ResultChannel::listen(const std::string& path, uint64_t max_frame_bytes) {
  max_frame_ = max_frame_bytes;
  std::string error;
  // The sandbox user (65534) connects; one connection only: the runner's.
  listen_fd_ = listen_unix(path, SOCK_STREAM, 1, 0666, "channel", &error);
  if (listen_fd_ < 0) return error;
  path_ = path;
  return "";
}

void ResultChannel::on_readable(std::vector<ChannelFrame>* frames) {
  if (conn_fd_ < 0) {
    if (listen_fd_ < 0) return;
    conn_fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn_fd_ < 0) return;
    ::close(listen_fd_);  // one connection only: the runner's
    listen_fd_ = -1;
    ::unlink(path_.c_str());
    return;
  }
  char tmp[65536];
  // Bounded work (and memory: ≤ 1 MiB of frames) per wake-up, however fast the sandbox writes;
  // poll brings us back while there is more.
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::recv(conn_fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      close_all();
      break;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    while (buf_.size() >= 4) {
      const auto* p = reinterpret_cast<const uint8_t*>(buf_.data());
      const uint64_t len = (uint64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
      if (len == 0 || len > max_frame_) {
        error_ = "result channel: bad frame length " + std::to_string(len);
        close_all();
        return;
      }
      if (buf_.size() < 4 + len) break;
      frames->push_back(ChannelFrame{buf_[4], buf_.substr(5, len - 1)});
      buf_.erase(0, 4 + len);
    }
  }
}

void ResultChannel::close_all() {
  if (conn_fd_ >= 0) ::close(conn_fd_);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  conn_fd_ = listen_fd_ = -1;
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
  buf_.clear();
}

}  // namespace enclave::backends::gvisor
