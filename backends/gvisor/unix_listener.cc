#include "backends/gvisor/unix_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace enclave::backends::gvisor {

int listen_unix(const std::string& path, int type, int backlog, mode_t mode,
                const std::string& what, std::string* error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *error = what + " socket path too long: " + path;
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = what + " socket: " + std::strerror(errno);
    return -1;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, backlog) != 0) {
    *error = what + " bind/listen " + path + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  ::chmod(path.c_str(), mode);
  return fd;
}

}  // namespace enclave::backends::gvisor
