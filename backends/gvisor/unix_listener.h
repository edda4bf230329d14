// The listening unix sockets the host opens for a sandbox (result channel, trace sink, egress
// proxy): one way to open them, so each gets the same path check, flags and permissions.
#pragma once

#include <sys/types.h>

#include <string>

namespace enclave::backends::gvisor {

// A non-blocking, close-on-exec socket of `type` (SOCK_STREAM, SOCK_SEQPACKET) listening at
// `path` (a file left there is replaced), chmod'ed to `mode`. The fd, or -1 with `*error` set,
// naming `what` ("channel socket path too long: …", "proxy bind/listen …: …").
[[nodiscard]] int listen_unix(const std::string& path, int type, int backlog, mode_t mode,
                              const std::string& what, std::string* error);

}  // namespace enclave::backends::gvisor
