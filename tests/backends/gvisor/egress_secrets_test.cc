// Secrets injected at the egress proxy (issue 26), hermetic: no runsc, real sockets on loopback
// (port 0), a real TLS upstream on 127.0.0.2 whose certificate is issued by a test CA. What a
// sandbox would send through /opt/enclave-io/proxy.sock is sent here directly. The secret
// reaches the upstream as the header its secret names, a header the workload sent under that
// name never does, the workload never sees the value, a deleted secret stops at once, an
// upstream certificate that does not verify fails closed, HTTP upgrades are refused and
// audited, and each use is reported (rate-limited, counts adding up).
#define BOOST_TEST_MODULE egress_secrets
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backends/gvisor/egress_ca.h"
#include "backends/gvisor/egress_proxy.h"
#include "backends/gvisor/http1_request.h"

namespace g = enclave::backends::gvisor;
namespace b = enclave::backends;
namespace egress = enclave::egress;
namespace secrets = enclave::secrets;

namespace {

const std::string kSecret = "s3cr3t-Q7vX9-do-not-leak";

// An HTTPS server on 127.0.0.2:0 with a certificate of its own CA: answers every request with
// "upstream-ok" (keep-alive) and records each request head it received.
struct Upstream {
  std::unique_ptr<g::EgressCa> ca;
  std::shared_ptr<SSL_CTX> ctx;
  int fd = -1;
  uint16_t port = 0;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> heads;

  Upstream() {
    std::string err;
    ca = g::EgressCa::create(&err);
    BOOST_REQUIRE_MESSAGE(ca, err);
    ctx = ca->server_context("127.0.0.2");
    BOOST_REQUIRE(ctx);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this] { serve(); });
  }
  ~Upstream() {
    stop = true;
    ::shutdown(fd, SHUT_RDWR);
    thread.join();
    ::close(fd);
  }
  std::string hostport() const { return "127.0.0.2:" + std::to_string(port); }
  std::vector<std::string> seen() {
    std::lock_guard lock(mu);
    return heads;
  }
  void serve() {
    while (!stop) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      SSL* ssl = SSL_new(ctx.get());
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        std::string buf;
        char tmp[4096];
        for (;;) {
          auto end = buf.find("\r\n\r\n");
          if (end != std::string::npos) {
            {
              std::lock_guard lock(mu);
              heads.push_back(buf.substr(0, end + 4));
            }
            buf.erase(0, end + 4);
            const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nupstream-ok";
            SSL_write(ssl, ok.data(), static_cast<int>(ok.size()));
            continue;
          }
          int n = SSL_read(ssl, tmp, sizeof tmp);
          if (n <= 0) break;
          buf.append(tmp, static_cast<size_t>(n));
        }
      }
      SSL_free(ssl);
      ::close(c);
    }
  }
};

std::string write_temp(const std::string& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir + "/" + name) << text;
  return dir + "/" + name;
}

struct Fixture {
  std::string dir;
  Upstream up;
  std::unique_ptr<g::EgressCa> proxy_ca;
  g::EgressProxy proxy;
  std::atomic<bool> secret_live{true};
  std::mutex mu;
  std::vector<g::ConnectAttempt> reports;
  std::vector<secrets::Use> uses;

  Fixture() {
    ::signal(SIGPIPE, SIG_IGN);  // the test's own TLS client writes to sockets the proxy closes
    char tmpl[] = "/tmp/enclave-secrets-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::string err;
    proxy_ca = g::EgressCa::create(&err);
    BOOST_REQUIRE_MESSAGE(proxy_ca, err);
  }
  ~Fixture() {
    proxy.stop();
    std::filesystem::remove_all(dir);
  }
  // `trust_upstream`: the proxy verifies upstreams against the upstream's CA (else the system
  // store, which does not know it).
  void start(bool trust_upstream = true) {
    g::EgressProxy::Secrets s;
    s.bindings = {b::SecretBinding{"svc", {up.hostport()}, "Authorization"}};
    s.resolve = [this](const std::string& name) -> std::optional<std::string> {
      if (name != "svc" || !secret_live) return std::nullopt;
      return "Bearer " + kSecret;
    };
    s.ca = std::shared_ptr<g::EgressCa>(proxy_ca.get(), [](g::EgressCa*) {});
    std::string err;
    s.upstream_tls = g::upstream_tls_context(
        trust_upstream ? write_temp(dir, "upstream-ca.pem", up.ca->cert_pem()) : "", &err);
    BOOST_REQUIRE_MESSAGE(s.upstream_tls, err);
    s.report_use = [this](secrets::Use u) {
      std::lock_guard lock(mu);
      uses.push_back(std::move(u));
    };
    s.now_ms = [] { return int64_t{1000}; };  // one second for the whole test: all but one held
    proxy.inject(std::move(s));
    egress::Policy policy;
    policy.permit = {*egress::parse_cidr("127.0.0.2/32")};
    auto e = proxy.start(dir + "/proxy.sock", {up.hostport()}, policy, [this](g::ConnectAttempt a) {
      std::lock_guard lock(mu);
      reports.push_back(std::move(a));
    });
    BOOST_REQUIRE_MESSAGE(e.empty(), e);
  }
  std::vector<g::ConnectAttempt> seen() {
    std::lock_guard lock(mu);
    return reports;
  }
};

// The sandbox's side: CONNECT through the proxy, then TLS trusting only the proxy's CA.
struct Client {
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  std::string established;
  Client(Fixture& f) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", (f.dir + "/proxy.sock").c_str());
    BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string head =
        "CONNECT " + f.up.hostport() + " HTTP/1.1\r\nHost: " + f.up.hostport() + "\r\n\r\n";
    BOOST_REQUIRE(::write(fd, head.data(), head.size()) == static_cast<ssize_t>(head.size()));
    char c;
    while (established.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1)
      established += c;
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    BOOST_REQUIRE(
        SSL_CTX_load_verify_locations(
            ctx, write_temp(f.dir, "proxy-ca.pem", f.proxy_ca->cert_pem()).c_str(), nullptr) == 1);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.2");
  }
  ~Client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
  }
  bool handshake() { return SSL_connect(ssl) == 1; }
  // Sends `request` and reads until `want` arrived or the connection ended.
  std::string exchange(const std::string& request, const std::string& want) {
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    std::string got;
    char buf[4096];
    while (got.find(want) == std::string::npos) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
};

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_secret_reaches_the_upstream_and_replaces_the_workloads_header) {
  Fixture f;
  f.start();
  {
    Client c(f);
    BOOST_CHECK(c.established.find(" 200 ") != std::string::npos);
    BOOST_REQUIRE_MESSAGE(c.handshake(), "the sandbox must trust the proxy's leaf");
    auto r1 = c.exchange(
        "GET /x?q=1 HTTP/1.1\r\nHost: 127.0.0.2\r\n"
        "Authorization: Bearer forged-by-workload\r\n\r\n",
        "upstream-ok");
    auto r2 = c.exchange(
        "POST /y HTTP/1.1\r\nHost: 127.0.0.2\r\nauthorization: again\r\n"
        "AUTHORIZATION: and again\r\nContent-Length: 5\r\n\r\nhello",
        "upstream-ok");
    BOOST_CHECK(r1.find("upstream-ok") != std::string::npos);
    BOOST_CHECK(r2.find("upstream-ok") != std::string::npos);
    BOOST_CHECK(r1.find(kSecret) == std::string::npos && r2.find(kSecret) == std::string::npos);
  }
  auto heads = f.up.seen();
  BOOST_REQUIRE_EQUAL(heads.size(), 2u);
  for (const auto& h : heads) {
    BOOST_CHECK_EQUAL(count(h, "Authorization: Bearer " + kSecret + "\r\n"), 1u);
    BOOST_CHECK_EQUAL(count(h, "uthorization"), 1u);  // the workload's, in any case, dropped
    BOOST_CHECK(h.find("forged") == std::string::npos && h.find("again") == std::string::npos);
  }
  BOOST_CHECK(heads[0].rfind("GET /x?q=1 HTTP/1.1\r\n", 0) == 0);
  f.proxy.stop();
  std::lock_guard lock(f.mu);
  // Rate-limited: one report at once, the other held and flushed at stop; counts add up.
  BOOST_REQUIRE_EQUAL(f.uses.size(), 2u);
  BOOST_CHECK_EQUAL(f.uses[0].name, "svc");
  BOOST_CHECK_EQUAL(f.uses[0].host, "127.0.0.2");
  BOOST_CHECK_EQUAL(f.uses[0].port, f.up.port);
  BOOST_CHECK_EQUAL(f.uses[0].method, "GET");
  BOOST_CHECK_EQUAL(f.uses[0].path, "/x");  // without the query
  BOOST_CHECK_EQUAL(f.uses[0].count + f.uses[1].count, 2u);
  for (const auto& u : f.uses) BOOST_CHECK(u.path.find(kSecret) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(many_requests_on_one_connection_are_each_injected_and_counted) {
  Fixture f;
  f.start();
  constexpr int kRequests = 500;
  const auto t0 = std::chrono::steady_clock::now();
  {
    Client c(f);
    BOOST_REQUIRE(c.handshake());
    for (int i = 0; i < kRequests; ++i) {
      auto r =
          c.exchange("GET /n/" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n", "upstream-ok");
      BOOST_REQUIRE(r.find("upstream-ok") != std::string::npos);
    }
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  BOOST_TEST_MESSAGE(kRequests << " injected requests on one TLS connection in " << ms << " ms");
  auto heads = f.up.seen();
  BOOST_REQUIRE_EQUAL(heads.size(), static_cast<size_t>(kRequests));
  for (const auto& h : heads) BOOST_CHECK_EQUAL(count(h, kSecret), 1u);
  f.proxy.stop();
  std::lock_guard lock(f.mu);
  uint32_t total = 0;
  for (const auto& u : f.uses) total += u.count;
  BOOST_CHECK_EQUAL(total, static_cast<uint32_t>(kRequests));  // every use counted
  BOOST_CHECK_LE(f.uses.size(), 2u);  // in one second of the limiter's clock: one event + flush
}

BOOST_AUTO_TEST_CASE(a_deleted_secret_stops_being_injected_at_once) {
  Fixture f;
  f.start();
  Client c(f);
  BOOST_REQUIRE(c.handshake());
  c.exchange("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n", "upstream-ok");
  f.secret_live = false;  // deleted between two requests of one connection
  c.exchange("GET /2 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer forged\r\n\r\n", "upstream-ok");
  auto heads = f.up.seen();
  BOOST_REQUIRE_EQUAL(heads.size(), 2u);
  BOOST_CHECK(heads[0].find(kSecret) != std::string::npos);
  BOOST_CHECK(heads[1].find("uthorization") == std::string::npos);  // neither ours nor theirs
}

BOOST_AUTO_TEST_CASE(an_upstream_certificate_that_does_not_verify_fails_closed) {
  Fixture f;
  f.start(/*trust_upstream=*/false);
  Client c(f);
  BOOST_REQUIRE(c.handshake());
  auto r = c.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "\r\n\r\n");
  BOOST_CHECK(r.find("502") != std::string::npos);
  BOOST_CHECK(r.find(kSecret) == std::string::npos);
  BOOST_CHECK(f.up.seen().empty());  // nothing was sent upstream
  bool audited = false;
  for (const auto& a : f.seen()) audited |= !a.allowed && a.reason == "upstream_tls";
  BOOST_CHECK(audited);
}

BOOST_AUTO_TEST_CASE(websocket_upgrades_and_http2_are_refused_and_audited) {
  Fixture f;
  f.start();
  {
    Client c(f);
    BOOST_REQUIRE(c.handshake());
    auto r = c.exchange(
        "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
        "Upgrade: websocket\r\n\r\n",
        "\r\n\r\n");
    BOOST_CHECK(r.find("501") != std::string::npos);
  }
  {
    Client c(f);
    BOOST_REQUIRE(c.handshake());
    auto r = c.exchange("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "\r\n\r\n");
    BOOST_CHECK(r.find("501") != std::string::npos);
  }
  BOOST_CHECK(f.up.seen().empty());
  std::vector<std::string> reasons;
  for (const auto& a : f.seen())
    if (!a.allowed) reasons.push_back(a.reason);
  BOOST_CHECK(std::count(reasons.begin(), reasons.end(), "upgrade_refused") == 1);
  BOOST_CHECK(std::count(reasons.begin(), reasons.end(), "http2_refused") == 1);
}

// ---- the request parser (pure) ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(request_heads_are_parsed_strictly) {
  using g::http1::Refusal;
  struct Row {
    std::string head;
    Refusal refusal;
  };
  const std::vector<Row> rows = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Refusal::kNone},
      {"GET / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       Refusal::kMalformed},  // two framings: smuggling
      {"GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", Refusal::kMalformed},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Refusal::kMalformed},
      {"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", Refusal::kMalformed},
      {"GET / HTTP/1.1\r\nBad Name: a\r\n\r\n", Refusal::kMalformed},
      {"GET / HTTP/1.1\r\nX: a\nInjected: b\r\n\r\n", Refusal::kMalformed},
      {"CONNECT a:1 HTTP/1.1\r\n\r\n", Refusal::kMalformed},
      {"GET / HTTP/2.0\r\n\r\n", Refusal::kHttp2},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Refusal::kHttp2},
      {"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", Refusal::kUpgrade},
      {"GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n", Refusal::kUpgrade},
      {"GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", Refusal::kTooLarge},
  };
  for (const auto& row : rows) {
    auto p = g::http1::parse_head(row.head);
    BOOST_CHECK_MESSAGE(p.refusal == row.refusal, row.head.substr(0, 60));
    BOOST_CHECK_EQUAL(p.head.has_value(), row.refusal == Refusal::kNone);
  }
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) many += "X" + std::to_string(i) + ": v\r\n";
  BOOST_CHECK(g::http1::parse_head(many + "\r\n").refusal == Refusal::kTooLarge);
  BOOST_CHECK(!g::http1::parse_head("GET / HTTP/1.1\r\nHost: a\r\n").head);  // incomplete
  BOOST_CHECK_EQUAL(g::http1::path_of("http://h:1/a/b?c=d"), "/a/b");
  BOOST_CHECK_EQUAL(g::http1::path_of("/a?b"), "/a");
  BOOST_CHECK_EQUAL(g::http1::authority_of("http://h:1/a"), "h:1");
  BOOST_CHECK_EQUAL(g::http1::authority_of("/a"), "");
}

BOOST_AUTO_TEST_CASE(chunked_bodies_are_followed_and_trailers_refused) {
  auto head = *g::http1::parse_head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").head;
  {
    g::http1::BodyFramer f(head);
    const std::string body = "5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\n";
    BOOST_CHECK_EQUAL(f.feed(body), body.find("GET"));  // stops exactly at the next request
    BOOST_CHECK(f.done());
  }
  {
    g::http1::BodyFramer f(head);
    const std::string body = "0\r\nAuthorization: smuggled\r\n\r\n";
    BOOST_CHECK_EQUAL(f.feed(body), 3u);  // nothing of the trailer line is consumed
    BOOST_CHECK(f.failed());
  }
  {
    g::http1::BodyFramer f(head);
    BOOST_CHECK_EQUAL(f.feed("zz\r\n"), 4u);
    BOOST_CHECK(f.failed());
  }
  auto fixed = *g::http1::parse_head("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n").head;
  g::http1::BodyFramer f(fixed);
  BOOST_CHECK_EQUAL(f.feed("abcdef"), 3u);
  BOOST_CHECK(f.done());
}
