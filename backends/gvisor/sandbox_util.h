// Small helpers the sandbox's files share.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace enclave::backends::gvisor {

inline std::string tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}
inline void close_fd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}
inline uint64_t ms_between(std::chrono::steady_clock::time_point a,
                           std::chrono::steady_clock::time_point b) {
  if (b <= a) return 0;
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count());
}

}  // namespace enclave::backends::gvisor
