// The runner's private channel to the supervisor: a unix stream socket inside the session's
// read-only io dir. Exactly one connection is accepted — the runner's, made before workload code
// runs — then the listener closes, so nothing the workload prints can become a result.
// Frames: u32 big-endian length (kind byte + payload), kind byte, payload.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace enclave::backends::gvisor {

struct ChannelFrame {
  char kind = 0;
  std::string payload;
};

class ResultChannel {
 public:
  ResultChannel() = default;
  ResultChannel(const ResultChannel&) = delete;
  ResultChannel& operator=(const ResultChannel&) = delete;
  ~ResultChannel();

  // Listens at `path`, connectable by the sandbox user. "" or error.
  [[nodiscard]] std::string listen(const std::string& path, uint64_t max_frame_bytes);
  int fd() const { return conn_fd_ >= 0 ? conn_fd_ : listen_fd_; }
  bool connected() const { return conn_fd_ >= 0; }
  bool closed() const { return conn_fd_ < 0 && listen_fd_ < 0; }
  // Handles readiness; appends complete frames (reading at most 1 MiB per call). A malformed or
  // oversized frame closes the channel (the rest of the run has no result channel) and sets
  // `error`. Frames are the sandbox's claims: callers bound and check what they act on.
  void on_readable(std::vector<ChannelFrame>* frames);
  const std::string& error() const { return error_; }
  void close_all();

 private:
  int listen_fd_ = -1;
  int conn_fd_ = -1;
  std::string path_;
  std::string buf_;
  uint64_t max_frame_ = 0;
  std::string error_;
};

}  // namespace enclave::backends::gvisor
