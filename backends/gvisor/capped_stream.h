// One output stream of a sandbox: the first `cap` bytes are kept, everything is counted.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

namespace enclave::backends::gvisor {

struct CappedStream {
  uint64_t cap = 0;
  std::string kept;
  uint64_t total = 0;

  // Appends; returns the part that was kept (for live streaming), empty once the cap is reached.
  std::string append(const char* data, size_t n) {
    total += n;
    if (kept.size() >= cap) return {};
    std::string part(data, std::min<size_t>(n, static_cast<size_t>(cap - kept.size())));
    kept += part;
    return part;
  }
  bool truncated() const { return total > kept.size(); }
};

}  // namespace enclave::backends::gvisor
