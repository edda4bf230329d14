#include "backends/gvisor/intercept.h"

#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>

#include "events/policy/egress_policy.h"
#include "events/secrets.h"

namespace enclave::backends::gvisor {

namespace {

using SteadyClock = std::chrono::steady_clock;

const char kEstablished[] = "HTTP/1.1 200 Connection Established\r\n\r\n";

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string answer(int status, const char* phrase, const std::string& text) {
  return "HTTP/1.1 " + std::to_string(status) + " " + phrase +
         "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
         std::to_string(text.size()) + "\r\n\r\n" + text;
}

// One side of the relay: a non-blocking socket, with TLS or without.
struct Endpoint {
  int fd = -1;
  SSL* ssl = nullptr;
  Endpoint(int f) : fd(f) {}
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;
  ~Endpoint() {
    if (ssl) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }
  // > 0: bytes moved; 0: would block; -1: closed or failed.
  ssize_t read(char* buf, size_t n) {
    if (!ssl) {
      const ssize_t r = ::recv(fd, buf, n, 0);
      if (r > 0) return r;
      return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    }
    const int r = SSL_read(ssl, buf, static_cast<int>(n));
    if (r > 0) return r;
    const int e = SSL_get_error(ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
  }
  ssize_t write(const char* buf, size_t n) {
    if (!ssl) {
      const ssize_t r = ::send(fd, buf, n, MSG_NOSIGNAL);
      if (r > 0) return r;
      return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    }
    const int r = SSL_write(ssl, buf, static_cast<int>(n));
    if (r > 0) return r;
    const int e = SSL_get_error(ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
  }
};

int ms_until(SteadyClock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on `fd`; false on timeout, error or stop.
bool wait_fd(int fd, short events, int stop_fd, int timeout_ms) {
  pollfd p[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
  const int r = ::poll(p, stop_fd >= 0 ? 2 : 1, timeout_ms);
  return r > 0 && p[0].revents != 0 && !(stop_fd >= 0 && p[1].revents != 0);
}

bool handshake(SSL* ssl, int fd, int stop_fd, SteadyClock::time_point deadline) {
  for (;;) {
    const int r = SSL_do_handshake(ssl);
    if (r == 1) return true;
    const int e = SSL_get_error(ssl, r);
    const short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    const int left = ms_until(deadline);
    if (ev == 0 || left == 0 || !wait_fd(fd, ev, stop_fd, left)) return false;
  }
}

// Writes all of `data` (short answers) before `deadline`.
bool write_all(Endpoint& e, std::string_view data, int stop_fd, SteadyClock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = e.write(data.data(), data.size());
    if (n < 0) return false;
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    const int left = ms_until(deadline);
    if (left == 0 || !wait_fd(e.fd, POLLOUT | POLLIN, stop_fd, left)) return false;
  }
  return true;
}

// "host:port" of an absolute-form authority, canonical like the allow-list's.
std::string canonical_authority(const std::string& authority, uint32_t default_port) {
  std::string a = authority;
  const bool has_port = !a.empty() && a.back() != ']' && a.rfind(':') != std::string::npos &&
                        (a.front() == '[' || a.find(':') == a.rfind(':'));
  if (!has_port) a += ":" + std::to_string(default_port);
  return secrets::canonical_host_port(a).value_or("");
}

}  // namespace

void serve_intercepted(int client_fd, int upstream_fd, std::string pending,
                       const InterceptSetup& s) {
  // TLS writes go through write(2), not send(MSG_NOSIGNAL): a peer that went away must be EPIPE
  // on this thread, never a SIGPIPE that ends the server.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  Endpoint client(client_fd), up(upstream_fd);
  const std::string self =
      secrets::canonical_host_port(
          (s.host.find(':') != std::string::npos ? "[" + s.host + "]" : s.host) + ":" +
          std::to_string(s.port))
          .value_or("");
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(s.handshake_timeout_ms);
  auto refuse_now = [&](const std::string& reason, int status, const char* phrase,
                        const std::string& text) {
    if (s.refused) s.refused(reason);
    (void)write_all(client, answer(status, phrase, text), s.stop_fd, deadline);
  };
  if (!s.tls && s.port == 443)  // a secret is never sent in clear to the HTTPS port
    return refuse_now("plaintext_refused", 400, "Bad Request",
                      "enclave: plain HTTP to port 443 of a secret's host is refused");
  if (s.tls) {
    if (!pending.empty())  // TLS must wait for our answer to its CONNECT
      return refuse_now("bad_request", 400, "Bad Request", "enclave: data before the tunnel");
    if (!write_all(client, kEstablished, s.stop_fd, deadline)) return;
    client.ssl = SSL_new(s.client_ctx.get());
    if (!client.ssl || SSL_set_fd(client.ssl, client.fd) != 1) return;
    SSL_set_accept_state(client.ssl);
    if (!handshake(client.ssl, client.fd, s.stop_fd, deadline)) return;
    up.ssl = SSL_new(s.upstream_ctx.get());
    if (!up.ssl || SSL_set_fd(up.ssl, up.fd) != 1) return;
    SSL_set_connect_state(up.ssl);
    if (egress::parse_ip(s.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(up.ssl), s.host.c_str());
    } else {
      SSL_set_tlsext_host_name(up.ssl, s.host.c_str());
      SSL_set1_host(up.ssl, s.host.c_str());
    }
    if (!handshake(up.ssl, up.fd, s.stop_fd, deadline)) {
      const long v = SSL_get_verify_result(up.ssl);
      // Fail closed: nothing of the request (nor the secret) has been sent.
      return refuse_now("upstream_tls", 502, "Bad Gateway",
                        std::string("enclave: TLS to the upstream failed: ") +
                            (v != X509_V_OK ? X509_verify_cert_error_string(v) : "handshake"));
    }
  }

  std::vector<std::string> strip;
  for (const auto& b : s.bindings) strip.push_back(lower(b.header));
  std::string in = std::move(pending), to_up, to_client;
  std::optional<http1::BodyFramer> body;
  uint32_t requests = 0;
  bool client_eof = false, up_eof = false, closing = false, half_closed = false;
  auto last_activity = SteadyClock::now();
  auto refuse = [&](const std::string& reason, int status, const char* phrase) {
    if (s.refused) s.refused(reason);
    to_client += answer(status, phrase, "enclave: request refused (" + reason + ")");
    in.clear();
    closing = true;
  };
  char buf[16384];
  for (;;) {
    bool progress = false;
    if (!closing && !client_eof && in.size() < s.max_buffer) {
      const ssize_t n = client.read(buf, std::min(sizeof buf, s.max_buffer - in.size()));
      if (n > 0) {
        in.append(buf, static_cast<size_t>(n));
        progress = true;
      } else if (n < 0) {
        client_eof = true;
      }
    }
    // Requests: heads rewritten, bodies passed through as their framing says.
    while (!closing && !in.empty() && to_up.size() < s.max_buffer) {
      if (body) {
        const size_t k = body->feed(in);
        if (body->failed()) {
          refuse("bad_request", 400, "Bad Request");
          break;
        }
        to_up.append(in, 0, k);
        in.erase(0, k);
        progress |= k > 0;
        if (body->done()) body.reset();
        if (k == 0) break;
        continue;
      }
      auto p = http1::parse_head(in, s.limits);
      if (p.refusal != http1::Refusal::kNone) {
        const bool big = p.refusal == http1::Refusal::kTooLarge;
        const bool proto =
            p.refusal == http1::Refusal::kHttp2 || p.refusal == http1::Refusal::kUpgrade;
        refuse(http1::refusal_reason(p.refusal),
               big     ? 431
               : proto ? 501
                       : 400,
               big     ? "Request Header Fields Too Large"
               : proto ? "Not Implemented"
                       : "Bad Request");
        break;
      }
      if (!p.head) break;  // more bytes needed
      const auto& h = *p.head;
      const std::string authority = http1::authority_of(h.target);
      if (!authority.empty() && canonical_authority(authority, s.tls ? 443 : 80) != self) {
        refuse("bad_request", 400, "Bad Request");  // one connection, one destination
        break;
      }
      if (++requests > s.max_requests) {
        refuse("request_limit", 429, "Too Many Requests");
        break;
      }
      std::vector<http1::Header> add;
      std::vector<std::string> added;
      for (const auto& b : s.bindings) {
        if (std::find(added.begin(), added.end(), lower(b.header)) != added.end()) continue;
        auto value = s.resolve ? s.resolve(b.name) : std::nullopt;
        if (!value) continue;  // deleted: the workload's header is still dropped
        add.push_back({b.header, std::move(*value)});
        added.push_back(lower(b.header));
        if (s.used)
          s.used(secrets::Use{b.name, s.host, s.port, h.method, http1::path_of(h.target)});
      }
      to_up += http1::serialize(h, strip, add);
      in.erase(0, p.consumed);
      progress = true;
      if (h.body != http1::RequestHead::Body::kNone) body.emplace(h);
    }
    if (client_eof) in.clear();  // a head that can no longer complete
    if (!up_eof && to_client.size() < s.max_buffer) {
      const ssize_t n = up.read(buf, std::min(sizeof buf, s.max_buffer - to_client.size()));
      if (n > 0) {
        to_client.append(buf, static_cast<size_t>(n));
        progress = true;
      } else if (n < 0) {
        up_eof = true;
      }
    }
    if (!to_up.empty() && !up_eof) {
      const ssize_t n = up.write(to_up.data(), to_up.size());
      if (n > 0) {
        to_up.erase(0, static_cast<size_t>(n));
        progress = true;
      } else if (n < 0) {
        up_eof = true;
      }
    }
    if (!to_client.empty()) {
      const ssize_t n = client.write(to_client.data(), to_client.size());
      if (n < 0) return;
      if (n > 0) {
        to_client.erase(0, static_cast<size_t>(n));
        progress = true;
      }
    }
    if (to_client.empty() && (closing || up_eof)) return;
    if (client_eof && to_up.empty() && !half_closed && !up_eof) {
      half_closed = true;  // the request side is done; answers may still come
      if (up.ssl) SSL_shutdown(up.ssl);
      ::shutdown(up.fd, SHUT_WR);
    }
    if (progress) {
      last_activity = SteadyClock::now();
      continue;
    }
    const short cev =
        static_cast<short>((!closing && !client_eof && in.size() < s.max_buffer ? POLLIN : 0) |
                           (!to_client.empty() ? POLLOUT : 0));
    const short uev = static_cast<short>((!up_eof && to_client.size() < s.max_buffer ? POLLIN : 0) |
                                         (!to_up.empty() ? POLLOUT : 0));
    pollfd p[3] = {{client.fd, cev, 0}, {up.fd, uev, 0}, {s.stop_fd, POLLIN, 0}};
    if (::poll(p, s.stop_fd >= 0 ? 3 : 2, 1000) < 0 && errno != EINTR) return;
    if (s.stop_fd >= 0 && p[2].revents) return;
    if (SteadyClock::now() - last_activity > std::chrono::milliseconds(s.idle_timeout_ms)) return;
  }
}

}  // namespace enclave::backends::gvisor
