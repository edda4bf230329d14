// The allow-list proxy applies the server's egress policy (hermetic: no runsc, real sockets on
// loopback, port 0). What a sandbox would send through /opt/enclave-io/proxy.sock is sent here
// directly: a permitted internal address is reached and reported allowed with the address
// connected to; a listed name that resolves to loopback is refused and nothing connects to the
// host; the per-session connection budget holds.
#define BOOST_TEST_MODULE egress_proxy
#include "backends/gvisor/egress_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace g = enclave::backends::gvisor;
namespace egress = enclave::egress;

namespace {

// A TCP listener on `address`, port 0; nobody accepts unless the test does.
struct Listener {
  int fd = -1;
  uint16_t port = 0;
  explicit Listener(const char* address) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, address, &a.sin_addr);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd); }
  // Whether a connection is waiting right now (no waiting: the proxy connects before it answers).
  bool pending() const {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }
};

struct Fixture {
  std::string dir;
  std::string sock;
  g::EgressProxy proxy;
  std::mutex mu;
  std::vector<g::ConnectAttempt> reports;

  Fixture() {
    char tmpl[] = "/tmp/enclave-proxy-XXXXXX";
    dir = ::mkdtemp(tmpl);
    sock = dir + "/proxy.sock";
  }
  ~Fixture() {
    proxy.stop();
    std::filesystem::remove_all(dir);
  }
  void start(const std::vector<std::string>& allow, egress::Policy policy) {
    auto e = proxy.start(sock, allow, std::move(policy), [this](g::ConnectAttempt a) {
      std::lock_guard lock(mu);
      reports.push_back(std::move(a));
    });
    BOOST_REQUIRE_MESSAGE(e.empty(), e);
  }
  std::vector<g::ConnectAttempt> seen() {
    std::lock_guard lock(mu);
    return reports;
  }
  // Connects to the proxy and sends `head`; returns the client fd (5 s receive timeout).
  int send(const std::string& head) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", sock.c_str());
    BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    BOOST_REQUIRE(::write(fd, head.data(), head.size()) == static_cast<ssize_t>(head.size()));
    return fd;
  }
};

// Reads until `want` has arrived (or the peer closed / timed out).
std::string read_until(int fd, const std::string& want) {
  std::string got;
  char buf[4096];
  while (got.find(want) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

std::string connect_head(const std::string& hostport) {
  return "CONNECT " + hostport + " HTTP/1.1\r\nHost: " + hostport + "\r\n\r\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(permitted_internal_address_is_reached_and_reported_allowed) {
  Listener up("127.0.0.2");
  Fixture f;
  egress::Policy p;
  p.permit = {*egress::parse_cidr("127.0.0.2/32")};
  const std::string dest = "127.0.0.2:" + std::to_string(up.port);
  f.start({dest}, p);
  int c = f.send(connect_head(dest));
  BOOST_TEST(read_until(c, "\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0u);
  int server = ::accept4(up.fd, nullptr, nullptr, SOCK_CLOEXEC);
  BOOST_REQUIRE(server >= 0);
  BOOST_REQUIRE(::write(server, "pong", 4) == 4);
  BOOST_TEST(read_until(c, "pong") == "pong");
  ::close(server);
  ::close(c);
  auto r = f.seen();
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_TEST(r[0].allowed);
  BOOST_TEST(r[0].host == "127.0.0.2");
  BOOST_TEST(r[0].ip == "127.0.0.2");
  BOOST_TEST(r[0].port == up.port);
}

BOOST_AUTO_TEST_CASE(listed_name_resolving_to_loopback_is_refused_and_never_connected) {
  // The attack of the issue: allow "localhost:<the API port>" and tunnel to the host's API.
  Listener api("127.0.0.1");
  Fixture f;
  const std::string dest = "localhost:" + std::to_string(api.port);
  f.start({dest, "127.0.0.2:1"}, egress::Policy{});
  for (const std::string& head :
       {connect_head(dest), "GET http://" + dest + "/v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n"}) {
    int c = f.send(head);
    const std::string answer = read_until(c, "\r\n\r\n");
    BOOST_TEST(answer.rfind("HTTP/1.1 403", 0) == 0u, answer);
    ::close(c);
    BOOST_TEST(!api.pending());  // the proxy decided before answering: nothing reached the host
  }
  auto r = f.seen();
  BOOST_REQUIRE_EQUAL(r.size(), 2u);
  for (const auto& a : r) {
    BOOST_TEST(!a.allowed);
    BOOST_TEST(a.host == "localhost");
    BOOST_TEST(a.reason == "internal_address");
    BOOST_TEST((a.ip == "127.0.0.1" || a.ip == "::1"), a.ip);
  }
}

BOOST_AUTO_TEST_CASE(unlisted_destination_and_connection_budget_are_refused_and_reported) {
  Listener up("127.0.0.2");
  Fixture f;
  egress::Policy p;
  p.permit = {*egress::parse_cidr("127.0.0.2/32")};
  p.max_connections = 2;
  const std::string dest = "127.0.0.2:" + std::to_string(up.port);
  f.start({dest}, p);
  for (int i = 0; i < 2; ++i) {
    int c = f.send(connect_head(dest));
    BOOST_TEST(read_until(c, "\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0u);
    ::close(c);
    int s = ::accept4(up.fd, nullptr, nullptr, SOCK_CLOEXEC);
    BOOST_REQUIRE(s >= 0);
    ::close(s);
  }
  int c = f.send(connect_head(dest));  // the third: over budget
  BOOST_TEST(read_until(c, "\r\n\r\n").rfind("HTTP/1.1 403", 0) == 0u);
  ::close(c);
  BOOST_TEST(!up.pending());
  c = f.send(connect_head("127.0.0.2:1"));  // not on the list at all
  BOOST_TEST(read_until(c, "\r\n\r\n").rfind("HTTP/1.1 403", 0) == 0u);
  ::close(c);
  auto r = f.seen();
  BOOST_REQUIRE_EQUAL(r.size(), 4u);
  BOOST_TEST(r[0].allowed);
  BOOST_TEST(r[1].allowed);
  BOOST_TEST(!r[2].allowed);
  BOOST_TEST(r[2].reason == "connection_limit");
  BOOST_TEST(!r[3].allowed);
  BOOST_TEST(r[3].reason == "not_allowed");
}
