#include "http/preflight.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace enclave::http {

std::string listen_preflight(const std::string& host, uint16_t port) {
  const std::string h = host == "localhost" ? "127.0.0.1" : host;
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    return "";  // not an IP address: the real bind reports it
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the real bind
  std::string why;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const std::string where = host + ":" + std::to_string(port);
    if (errno == EADDRINUSE)
      why = where +
            " is already in use (another enclaved, or another program, listens there): "
            "stop it or choose another address with --listen HOST:PORT";
    else if (errno == EADDRNOTAVAIL)
      why = where + ": this machine has no such address (--listen HOST:PORT)";
    else if (errno == EACCES)
      why = where + ": permission denied (ports below 1024 need privileges)";
    else
      why = "cannot listen on " + where + ": " + std::strerror(errno);
  }
  ::close(fd);
  return why;
}

std::string data_dir_preflight(const std::string& data_dir) {
  const std::string lock = data_dir + "/LOCK";
  int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return "";  // a new data dir, or one RocksDB reports on itself
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  std::string why;
  // RocksDB holds DIR/LOCK with a POSIX record lock; F_GETLK names the holder.
  if (::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
    why = "the data dir " + data_dir + " is in use by another process (pid " +
          std::to_string(fl.l_pid) +
          ", probably another enclaved): stop it, or give this server its own --data-dir";
  }
  ::close(fd);
  return why;
}

}  // namespace enclave::http
