// Live output is hostile input: the runner and the workload share one process, so any live
// chunk on the result channel may be forged, in any amount. The supervisor counts what it
// forwards, per stream, and stops at the same cap as stored output; the first chunk dropped
// turns into one Output with `truncated` set. Interactive sandboxes reset it at each turn; batch
// sandboxes never do (the cap is per session). Pure; not thread-safe (one supervisor thread).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace enclave::backends {

class LiveOutputCap {
 public:
  explicit LiveOutputCap(uint64_t cap_bytes = 1 << 20) : cap_(cap_bytes) {}

  // A new turn: its streams start from zero.
  void reset() { *this = LiveOutputCap(cap_); }

  // What to forward for `data` on `stream` ("stdout"/"stderr"): the part under the cap, then
  // (once per stream) the truncation marker. Empty once the marker went out.
  std::vector<Output> admit(const std::string& stream, const std::string& data, uint32_t turn) {
    std::vector<Output> out;
    const int i = stream == "stderr" ? 1 : 0;
    if (marked_[i] || data.empty()) return out;
    const uint64_t room = cap_ - std::min(cap_, sent_[i]);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(room, data.size()));
    if (n > 0) {
      out.push_back(Output{stream, data.substr(0, n), turn, false});
      sent_[i] += n;
    }
    if (n < data.size()) {
      marked_[i] = true;
      out.push_back(Output{stream, "", turn, true});
    }
    return out;
  }

  uint64_t sent(const std::string& stream) const { return sent_[stream == "stderr" ? 1 : 0]; }
  bool truncated(const std::string& stream) const { return marked_[stream == "stderr" ? 1 : 0]; }

 private:
  uint64_t cap_;
  uint64_t sent_[2] = {0, 0};
  bool marked_[2] = {false, false};
};

}  // namespace enclave::backends
