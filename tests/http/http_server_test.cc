// The Beast server on its own (no engine): a stub Handler, real sockets on port 0, the CLI's
// HTTP client. Covers async replies, body/head limits, garbage, and Server-Sent Events: normal
// end, a client too slow for its bounded queue, and a client that hangs up.
#define BOOST_TEST_MODULE http_server
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "cli/http_client.h"
#include "http/server.h"

using namespace enclave;
using namespace enclave::http;
using enclave::cli::http_request;
using enclave::cli::http_stream;
using enclave::cli::Url;

namespace {

struct Fixture {
  std::atomic<int> unsubscribed{0};
  std::mutex threads_mu;
  std::vector<std::thread> threads;
  std::unique_ptr<Server> server;
  Url url;

  explicit Fixture(ServerOptions opts = {}) {
    opts.host = "127.0.0.1";
    opts.port = 0;
    auto s = Server::start(opts, [this](Request req, Reply reply) { handle(req, reply); });
    BOOST_REQUIRE(s.ok());
    server = std::move(s.value());
    url.host = "127.0.0.1";
    url.port = server->port();
  }
  ~Fixture() {
    server->stop();
    std::lock_guard<std::mutex> lock(threads_mu);
    for (auto& t : threads) t.join();
  }

  template <typename F>
  void spawn(F f) {
    std::lock_guard<std::mutex> lock(threads_mu);
    threads.emplace_back(std::move(f));
  }

  std::shared_ptr<StreamSource> stream(int frames, bool from_thread) {
    auto src = std::make_shared<StreamSource>();
    src->subscribe = [this, frames, from_thread](
                         std::function<void(std::string, bool)> emit) -> Result<uint64_t> {
      auto produce = [emit, frames] {
        for (int i = 0; i < frames; ++i)
          emit("event: n\ndata: " + std::to_string(i) + "\n\n", false);
        if (frames >= 0) emit("event: end\ndata: {}\n\n", true);
      };
      if (from_thread)
        spawn(produce);
      else
        produce();
      return uint64_t{7};
    };
    src->unsubscribe = [this](uint64_t id) {
      if (id == 7) ++unsubscribed;
    };
    return src;
  }

  void handle(const Request& req, const Reply& reply) {
    Response r;
    if (req.target == "/async") {
      spawn([reply, body = req.body] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        Response r;
        r.body = "{\"echo\":" + std::to_string(body.size()) + "}";
        reply(r);
      });
      return;
    }
    if (req.target == "/upload" && req.body_channel) {
      // Counts what arrives; answers {"got":N,"sum":S} or the failure's status.
      struct Counter : BodySink {
        Reply reply;
        uint64_t got = 0, sum = 0;
        std::optional<Error> write(const char* d, size_t n) override {
          for (size_t i = 0; i < n; ++i) sum += static_cast<unsigned char>(d[i]);
          got += n;
          return std::nullopt;
        }
        void finish(std::optional<Error> failed) override {
          Response r;
          if (failed) r.status = 400;
          r.body = "{\"got\":" + std::to_string(got) + ",\"sum\":" + std::to_string(sum) + "}";
          reply(r);
        }
      };
      auto sink = std::make_shared<Counter>();
      sink->reply = reply;
      req.body_channel->start(sink);
      return;
    }
    if (req.target == "/headers") {
      r.body = req.content_type + "|" + req.sandbox_id + "|" + req.access_token;
      return reply(r);
    }
    if (req.target == "/ndjson") {
      r.stream = stream(3, true);
      r.stream->framing = StreamSource::Framing::kChunked;
      r.stream->content_type = "application/x-ndjson";
      return reply(r);
    }
    if (req.target == "/sse")
      r.stream = stream(3, true);
    else if (req.target == "/flood")
      r.stream = stream(5000, false);
    else if (req.target == "/forever")
      r.stream = stream(-1, false);
    else if (req.target == "/fail") {
      r.stream = std::make_shared<StreamSource>();
      r.stream->subscribe = [](auto) -> Result<uint64_t> {
        return make_error(ErrorCode::kNotFound, "not_found", "no such session");
      };
      r.stream->unsubscribe = [](uint64_t) {};
    } else
      r.body = "{\"auth\":\"" + req.authorization + "\"}";
    reply(r);
  }

  bool wait_unsubscribed(int n) {
    for (int i = 0; i < 300 && unsubscribed.load() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return unsubscribed.load() >= n;
  }

  int raw_connect() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(url.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }

  // Sends `send` and reads until the server closes (bounded by the 5 s receive timeout).
  std::string raw_until_close(const std::string& send) {
    int fd = raw_connect();
    BOOST_REQUIRE(::send(fd, send.data(), send.size(), MSG_NOSIGNAL) ==
                  static_cast<ssize_t>(send.size()));
    std::string got;
    char buf[4096];
    for (int i = 0; i < 1000; ++i) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return got;
  }

  std::string raw_exchange(const std::string& send) {
    int fd = raw_connect();
    BOOST_REQUIRE(::send(fd, send.data(), send.size(), MSG_NOSIGNAL) ==
                  static_cast<ssize_t>(send.size()));
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ::close(fd);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(async_reply_and_headers) {
  Fixture f;
  auto r = http_request(f.url, "POST", "/async", "{\"a\":1}", {});
  BOOST_CHECK_EQUAL(r.status, 200);
  BOOST_CHECK_EQUAL(r.body, "{\"echo\":7}");
  r = http_request(f.url, "GET", "/x", "", {{"Authorization", "Bearer k"}});
  BOOST_CHECK_EQUAL(r.body, "{\"auth\":\"Bearer k\"}");
}

BOOST_AUTO_TEST_CASE(limits_and_garbage) {
  Fixture f;
  auto r = http_request(f.url, "POST", "/async", std::string(2 << 20, 'x'), {});
  BOOST_CHECK_EQUAL(r.status, 413);
  BOOST_CHECK(r.body.find("\"code\":\"too_large\"") != std::string::npos);
  r = http_request(f.url, "GET", "/x", "", {{"X-Big", std::string(9000, 'a')}});
  BOOST_CHECK_EQUAL(r.status, 431);
  auto g = f.raw_exchange(std::string("\x00\xff GARBAGE\r\n\r\n", 15));
  BOOST_CHECK(g.rfind("HTTP/1.1 400", 0) == 0);
  // A chunked body within the limit is accepted.
  g = f.raw_exchange(
      "POST /async HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  BOOST_CHECK(g.rfind("HTTP/1.1 200", 0) == 0);
  BOOST_CHECK(g.find("{\"echo\":3}") != std::string::npos);
  r = http_request(f.url, "GET", "/x", "", {});
  BOOST_CHECK_EQUAL(r.status, 200);
}

// Streamed bodies (uploads): one of known length is read straight from the socket, exactly to
// its end — bytes that came with the head included, a pipelined request after it untouched; a
// body cut short is a failure, never a success; a chunked one goes through the parser.
BOOST_AUTO_TEST_CASE(streamed_bodies_are_read_exactly_to_their_end) {
  ServerOptions o;
  o.stream_body = [](std::string_view, std::string_view target) { return target == "/upload"; };
  Fixture f(o);
  std::string body(3 << 20, '\0');
  uint64_t sum = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>(i * 131 % 251);
    sum += static_cast<unsigned char>(body[i]);
  }
  const std::string want =
      "{\"got\":" + std::to_string(body.size()) + ",\"sum\":" + std::to_string(sum) + "}";
  auto got = f.raw_until_close(
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body + "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
  BOOST_CHECK(got.find(want) != std::string::npos);
  BOOST_CHECK(got.find("{\"auth\":\"\"}") != std::string::npos);  // the pipelined GET answered
  // Cut short: the client stops sending (half-close) before its Content-Length.
  int fd = f.raw_connect();
  std::string head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789";
  BOOST_REQUIRE(::send(fd, head.data(), head.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(head.size()));
  ::shutdown(fd, SHUT_WR);
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  std::string short_answer = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  BOOST_CHECK(short_answer.rfind("HTTP/1.1 400", 0) == 0);
  BOOST_CHECK(short_answer.find("{\"got\":10,") != std::string::npos);
  // Chunked: through the parser, the same bytes.
  auto chunked = f.raw_exchange(
      "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  BOOST_CHECK(chunked.rfind("HTTP/1.1 200", 0) == 0);
  BOOST_CHECK(chunked.find("{\"got\":3,\"sum\":294}") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(event_stream_ends) {
  Fixture f;
  std::string got;
  auto r = http_stream(f.url, "/sse", {}, [&](const std::string& c) {
    got += c;
    return true;
  });
  BOOST_CHECK_EQUAL(r.status, 200);
  BOOST_CHECK(r.content_type.rfind("text/event-stream", 0) == 0);
  BOOST_CHECK_EQUAL(got,
                    "event: n\ndata: 0\n\nevent: n\ndata: 1\n\nevent: n\ndata: 2\n\n"
                    "event: end\ndata: {}\n\n");
  BOOST_CHECK(f.wait_unsubscribed(1));
}

BOOST_AUTO_TEST_CASE(event_stream_subscribe_error_is_json) {
  Fixture f;
  auto r = http_stream(f.url, "/fail", {}, [](const std::string&) { return true; });
  BOOST_CHECK_EQUAL(r.status, 404);
  BOOST_CHECK(r.body.find("not_found") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(slow_client_is_cut_off) {
  ServerOptions o;
  o.sse_max_items = 100;
  Fixture f(o);
  std::string got;
  auto r = http_stream(f.url, "/flood", {}, [&](const std::string& c) {
    got += c;
    return true;
  });
  BOOST_CHECK_EQUAL(r.status, 200);
  BOOST_CHECK(got.find("event: end") == std::string::npos);  // closed, not ended
  BOOST_CHECK(f.wait_unsubscribed(1));
}

BOOST_AUTO_TEST_CASE(hangup_unsubscribes) {
  Fixture f;
  int fd = f.raw_connect();
  std::string req = "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  char buf[512];
  BOOST_CHECK(::recv(fd, buf, sizeof buf, 0) > 0);  // the head
  BOOST_CHECK_EQUAL(f.unsubscribed.load(), 0);
  ::close(fd);
  BOOST_CHECK(f.wait_unsubscribed(1));
}

// A chunked stream: the content type given, Transfer-Encoding chunked, the frames as chunks and
// the last-chunk marker, no SSE pings; the source is unsubscribed after.
BOOST_AUTO_TEST_CASE(chunked_stream_ends_with_last_chunk) {
  Fixture f;
  auto got = f.raw_until_close("GET /ndjson HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head_end = got.find("\r\n\r\n");
  BOOST_REQUIRE(head_end != std::string::npos);
  std::string head = got.substr(0, head_end), body = got.substr(head_end + 4);
  BOOST_CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
  BOOST_CHECK(head.find("Content-Type: application/x-ndjson") != std::string::npos);
  BOOST_CHECK(head.find("Transfer-Encoding: chunked") != std::string::npos);
  // De-chunk: "<hex size>\r\n<data>\r\n" … "0\r\n\r\n".
  std::string data;
  size_t pos = 0;
  bool last = false;
  for (int i = 0; i < 100 && pos < body.size(); ++i) {
    size_t eol = body.find("\r\n", pos);
    BOOST_REQUIRE(eol != std::string::npos);
    size_t n = std::stoul(body.substr(pos, eol - pos), nullptr, 16);
    if (n == 0) {
      last = body.substr(eol) == "\r\n\r\n";
      break;
    }
    data += body.substr(eol + 2, n);
    BOOST_REQUIRE_EQUAL(body.substr(eol + 2 + n, 2), "\r\n");
    pos = eol + 4 + n;
  }
  BOOST_CHECK(last);
  BOOST_CHECK_EQUAL(data,
                    "event: n\ndata: 0\n\nevent: n\ndata: 1\n\nevent: n\ndata: 2\n\n"
                    "event: end\ndata: {}\n\n");
  BOOST_CHECK(f.wait_unsubscribed(1));
}

BOOST_AUTO_TEST_CASE(handlers_see_e2b_headers) {
  Fixture f;
  auto r = http_request(f.url, "POST", "/headers", "{}",
                        {{"Content-Type", "application/connect+json"},
                         {"E2b-Sandbox-Id", "abc"},
                         {"X-Access-Token", "tok"}});
  BOOST_CHECK_EQUAL(r.body, "application/connect+json|abc|tok");
}
