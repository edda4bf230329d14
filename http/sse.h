// Server-Sent Events: framing, and the bounded queue between the engine's threads (producers)
// and a client connection (consumer). A client too slow to keep up is cut off rather than let
// its queue grow without bound.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

namespace enclave::http {

// "event: NAME\ndata: LINE\n…\n\n" — one data line per line of `data`.
std::string sse_frame(std::string_view event, std::string_view data);

class SseQueue {
 public:
  SseQueue(size_t max_items, size_t max_bytes) : max_items_(max_items), max_bytes_(max_bytes) {}

  // Adds a frame (`last`: the stream ends after it). Thread-safe. Returns true when the consumer
  // must be woken (nobody has been told since it last took). After an overflow, frames are
  // dropped and the consumer is told once more so it can close.
  bool push(std::string frame, bool last);

  struct Batch {
    std::string data;       // frames to write, concatenated
    bool end = false;       // the last frame is in `data` (or was written before)
    bool overflow = false;  // the client fell too far behind: close now
  };
  // Takes everything queued. Thread-safe.
  Batch take();

 private:
  std::mutex mu_;
  std::string data_;
  size_t items_ = 0;
  bool end_ = false;
  bool overflow_ = false;
  bool notified_ = false;
  size_t max_items_, max_bytes_;
};

}  // namespace enclave::http
