// The only translation unit that includes Beast (it is expensive to compile; keep it that way).
#include "http/server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include "http/json_io.h"
#include "http/sse.h"

namespace enclave::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using std::chrono::seconds;

namespace {

bool is_parse_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

// `extra`: the Response's own headers (e.g. CORS for an allowed origin); never from the client
// unchecked (Beast refuses CR/LF in the header values they may echo).
std::string stream_head(const StreamSource& source,
                        const std::vector<std::pair<std::string, std::string>>& extra) {
  std::string more;
  for (const auto& [k, v] : extra) more += k + ": " + v + "\r\n";
  if (source.framing == StreamSource::Framing::kSse) {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
           "X-Accel-Buffering: no\r\n" +
           more + "Connection: close\r\n\r\n";
  }
  return "HTTP/1.1 200 OK\r\nContent-Type: " + source.content_type +
         "\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n" + more +
         "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
}

// `data` as one HTTP/1.1 chunk ("" for no data), then the last-chunk marker when `end`.
std::string as_chunks(const std::string& data, bool end) {
  std::string out;
  if (!data.empty()) {
    char size[20];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    out.reserve(data.size() + static_cast<size_t>(n) + 7);
    out.append(size, static_cast<size_t>(n));
    out += data;
    out += "\r\n";
  }
  if (end) out += "0\r\n\r\n";
  return out;
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket&& socket, const ServerOptions& opts, std::shared_ptr<Handler> handler)
      : stream_(std::move(socket)),
        executor_(stream_.get_executor()),
        ping_timer_(executor_),
        opts_(opts),
        handler_(std::move(handler)) {}

  ~Connection() { unsubscribe(); }

  void start() {
    net::dispatch(executor_, [self = shared_from_this()] { self->read_request(); });
  }

 private:
  void read_request() {
    answering_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(opts_.max_header_bytes));
    // No body limit while the head is read (Beast would refuse a large Content-Length there):
    // on_header applies it, unless the route streams its body (uploads bound theirs). Not
    // boost::none: Beast 1.74 compares the length with the optional, and `n > none` holds.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(
        seconds(served_ == 0 ? opts_.read_timeout_seconds : opts_.idle_timeout_seconds));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, size_t) { self->on_header(ec); });
  }

  // Returns true when the error ended the exchange (already handled).
  bool handle_read_error(const error_code& ec) {
    if (!ec) return false;
    if (ec == bhttp::error::body_limit) {
      fail_and_close(413, "too_large", "the request body is larger than 1 MiB");
    } else if (ec == bhttp::error::header_limit) {
      fail_and_close(431, "header_too_large", "the request head is larger than 8 KiB");
    } else if (is_parse_error(ec) && ec != bhttp::error::end_of_stream &&
               ec != bhttp::error::partial_message) {
      fail_and_close(400, "bad_request", "malformed HTTP request: " + ec.message());
    } else {
      close();  // end of stream, timeout, reset
    }
    return true;
  }

  void on_header(error_code ec) {
    if (handle_read_error(ec)) return;
    stream_.expires_after(seconds(opts_.read_timeout_seconds));
    const auto& req = parser_->get();
    auto method = req.method_string();
    auto target = req.target();
    if (opts_.stream_body && opts_.stream_body(std::string_view(method.data(), method.size()),
                                               std::string_view(target.data(), target.size())))
      return start_streamed();
    if (auto n = parser_->content_length(); n && *n > opts_.max_body_bytes)
      return fail_and_close(413, "too_large", "the request body is larger than 1 MiB");
    parser_->body_limit(opts_.max_body_bytes);
    auto expect = req[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue") && !parser_->is_done()) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = shared_from_this()](error_code ec, size_t) {
                         if (ec) return self->close();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return on_read({});
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
  }

  template <class Msg>
  static Request head_of(const Msg& msg) {
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.authorization = std::string(msg[bhttp::field::authorization]);
    req.x_api_key = std::string(msg["X-API-KEY"]);
    req.content_type = std::string(msg[bhttp::field::content_type]);
    req.content_encoding = std::string(msg[bhttp::field::content_encoding]);
    req.sandbox_id = std::string(msg["E2b-Sandbox-Id"]);
    req.access_token = std::string(msg["X-Access-Token"]);
    // The code interpreter's context calls carry the token only as E2B-Traffic-Access-Token.
    if (req.access_token.empty()) req.access_token = std::string(msg["E2B-Traffic-Access-Token"]);
    req.origin = std::string(msg[bhttp::field::origin]);
    req.host = std::string(msg[bhttp::field::host]);
    req.has_preflight = msg.find(bhttp::field::access_control_request_method) != msg.end();
    return req;
  }

  void dispatch_request(Request req) {
    auto hangup = std::make_shared<HangupWatch>();
    req.hangup = hangup;
    ++served_;
    auto self = shared_from_this();
    auto ex = executor_;
    (*handler_)(std::move(req), [self, ex](Response r) mutable {
      net::post(ex, [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
    });
    if (hangup->on_hangup) watch_pending(std::move(hangup));
  }

  // A long answer is pending (`?wait=S`): a read now completes only if the client hangs up
  // (or pipelines its next request, whose bytes are kept in buffer_ for the next parse).
  void watch_pending(std::shared_ptr<HangupWatch> hangup) {
    if (closed_ || answering_) return;
    pending_hangup_ = std::move(hangup);
    watching_ = true;
    stream_.socket().async_read_some(
        buffer_.prepare(4096),
        [self = shared_from_this()](error_code ec, size_t n) { self->on_pending_read(ec, n); });
  }

  void on_pending_read(error_code ec, size_t n) {
    watching_ = false;
    buffer_.commit(n);
    auto hangup = std::move(pending_hangup_);
    if (closed_) return;
    if (ec && ec != net::error::operation_aborted && !answering_) {
      if (hangup && hangup->on_hangup) hangup->on_hangup();  // drops the wait
      return close();
    }
    if (read_after_watch_) {
      read_after_watch_ = false;
      read_request();
    }
  }

  void on_read(error_code ec) {
    if (handle_read_error(ec)) return;
    stream_.expires_never();
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    Request req = head_of(msg);
    req.body = std::move(msg.body());
    dispatch_request(std::move(req));
  }

  // ---- Streamed request bodies (uploads) -------------------------------------------------------
  // The handler sees the head at once; the body is read only when it starts the channel, a chunk
  // at a time into one fixed buffer (never whole), each chunk handed to its sink.
  class Channel : public BodyChannel {
   public:
    Channel(std::weak_ptr<Connection> c, net::any_io_executor ex)
        : conn_(std::move(c)), ex_(std::move(ex)) {}
    void start(std::shared_ptr<BodySink> sink) override {
      net::post(ex_, [conn = conn_, sink = std::move(sink)]() mutable {
        auto self = conn.lock();
        if (!self || self->closed_) {
          sink->finish(make_error(ErrorCode::kInvalidArgument, "bad_request",
                                  "the client went away before the upload"));
          return;
        }
        self->begin_upload(std::move(sink));
      });
    }

   private:
    std::weak_ptr<Connection> conn_;
    net::any_io_executor ex_;
  };

  void start_streamed() {
    stream_.expires_never();  // the handler decides first; reading re-arms the timer per chunk
    upload_parser_.emplace(std::move(*parser_));
    upload_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // the sink bounds it
    // A body of known length is read straight from the socket (read_raw_chunk); a chunked one
    // goes through the parser.
    auto length = upload_parser_->content_length();
    raw_upload_ = length.has_value() && !upload_parser_->chunked();
    raw_left_ = raw_upload_ ? *length : 0;
    parser_.reset();
    const auto& msg = upload_parser_->get();
    keep_alive_ = msg.keep_alive();
    Request req = head_of(msg);
    req.body_channel = std::make_shared<Channel>(weak_from_this(), executor_);
    dispatch_request(std::move(req));
  }

  void begin_upload(std::shared_ptr<BodySink> sink) {
    upload_sink_ = std::move(sink);
    upload_buf_.resize(raw_upload_ ? kRawUploadChunk : 256 * 1024);
    const auto& req = upload_parser_->get();
    if (beast::iequals(req[bhttp::field::expect], "100-continue") && !upload_whole()) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(
          stream_, net::buffer(kContinue), [self = shared_from_this()](error_code ec, size_t) {
            if (ec)
              return self->end_upload(
                  make_error(ErrorCode::kInvalidArgument, "bad_request", ec.message()));
            self->read_upload_chunk();
          });
      return;
    }
    read_upload_chunk();
  }

  // Whether the streamed body was read to its end (its Content-Length, or the parser's end).
  bool upload_whole() const { return raw_upload_ ? raw_left_ == 0 : upload_parser_->is_done(); }

  // Reads of up to kRawUploadChunk straight from the socket, never past the body's length (a
  // pipelined next request stays unread): measured, Beast's parser reads at most 64 KiB per call
  // and each call re-arms the timer, which made uploads a sixth as fast as downloads.
  static constexpr size_t kRawUploadChunk = 1 << 20;

  void read_raw_chunk() {
    if (raw_left_ == 0) return end_upload(std::nullopt);
    if (buffer_.size() > 0) {  // body bytes that arrived with the head
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), raw_left_));
      auto err = upload_sink_->write(static_cast<const char*>(buffer_.data().data()), n);
      buffer_.consume(n);
      raw_left_ -= n;
      if (err) return end_upload(std::move(*err));
      if (raw_left_ == 0) return end_upload(std::nullopt);
    }
    const size_t want = static_cast<size_t>(std::min<uint64_t>(upload_buf_.size(), raw_left_));
    stream_.expires_after(seconds(opts_.read_timeout_seconds));
    stream_.async_read_some(
        net::buffer(upload_buf_.data(), want),
        [self = shared_from_this()](error_code ec, size_t n) { self->on_raw_chunk(ec, n); });
  }

  void on_raw_chunk(error_code ec, size_t n) {
    if (n > 0) {
      raw_left_ -= std::min<uint64_t>(n, raw_left_);
      if (auto e = upload_sink_->write(upload_buf_.data(), n)) return end_upload(std::move(*e));
    }
    if (ec && raw_left_ > 0) {
      return end_upload(make_error(ErrorCode::kInvalidArgument, "bad_request",
                                   "the upload did not arrive whole: " + ec.message()));
    }
    read_raw_chunk();
  }

  void read_upload_chunk() {
    if (raw_upload_) return read_raw_chunk();
    if (upload_parser_->is_done()) return end_upload(std::nullopt);
    auto& body = upload_parser_->get().body();
    body.data = upload_buf_.data();
    body.size = upload_buf_.size();
    stream_.expires_after(seconds(opts_.read_timeout_seconds));
    bhttp::async_read_some(
        stream_, buffer_, *upload_parser_,
        [self = shared_from_this()](error_code ec, size_t) { self->on_upload_chunk(ec); });
  }

  void on_upload_chunk(error_code ec) {
    if (ec == bhttp::error::need_buffer) ec = {};
    const size_t got = upload_buf_.size() - upload_parser_->get().body().size;
    if (ec) {
      return end_upload(make_error(ErrorCode::kInvalidArgument, "bad_request",
                                   "the upload did not arrive whole: " + ec.message()));
    }
    if (got > 0) {
      if (auto e = upload_sink_->write(upload_buf_.data(), got)) return end_upload(std::move(*e));
    }
    read_upload_chunk();
  }

  void end_upload(std::optional<Error> failed) {
    stream_.expires_never();
    if (failed) keep_alive_ = false;  // the rest of the body was not read
    auto sink = std::move(upload_sink_);
    upload_sink_.reset();
    if (sink) sink->finish(std::move(failed));
  }

  // ---- Downloads: a file's bytes with Content-Length, read and written a chunk at a time -------
  void send_file(Response r) {
    file_ = std::move(r.file);
    file_sent_ = 0;
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: " + r.content_type +
                       "\r\nContent-Length: " + std::to_string(file_->size) + "\r\n";
    for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
    if (!keep_alive_) head += "Connection: close\r\n";
    file_buf_ = head + "\r\n";
    stream_.expires_after(seconds(opts_.write_timeout_seconds));
    net::async_write(stream_, net::buffer(file_buf_),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->close();
                       self->send_file_chunk();
                     });
  }

  void send_file_chunk() {
    if (file_sent_ >= file_->size) {
      file_.reset();
      if (!keep_alive_) return close();
      return read_request();
    }
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(256 * 1024, file_->size - file_sent_));
    file_buf_.resize(want);
    ssize_t n = ::pread(file_->fd, file_buf_.data(), want, static_cast<off_t>(file_sent_));
    // The file shrank under us (the workload truncated it): the promised length cannot be kept.
    if (n <= 0) return close();
    file_buf_.resize(static_cast<size_t>(n));
    file_sent_ += static_cast<uint64_t>(n);
    stream_.expires_after(seconds(opts_.write_timeout_seconds));
    net::async_write(stream_, net::buffer(file_buf_),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->close();
                       self->send_file_chunk();
                     });
  }

  void send(Response r) {
    if (closed_) return;
    answering_ = true;
    if (watching_) {  // the answer came first: stop watching (its handler sees operation_aborted)
      error_code ignored;
      stream_.socket().cancel(ignored);
    }
    // A streamed body the handler did not read whole: answer, then discard the rest and close.
    if (upload_parser_ && !upload_whole()) keep_alive_ = false;
    if (r.file) return send_file(std::move(r));
    if (r.stream) return start_stream(std::move(r.stream), r.headers);
    res_.emplace();
    res_->version(11);
    res_->result(static_cast<unsigned>(r.status));
    res_->set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res_->set(k, v);
    res_->keep_alive(keep_alive_);
    res_->body() = std::move(r.body);
    res_->prepare_payload();
    stream_.expires_after(seconds(opts_.write_timeout_seconds));
    bhttp::async_write(stream_, *res_, [self = shared_from_this()](error_code ec, size_t) {
      self->res_.reset();
      if (!ec && !self->keep_alive_ && self->upload_parser_ && !self->upload_whole()) {
        // Unread upload bytes: closing now could reset the connection before the client reads
        // the answer. Stop sending, read and drop what still comes (bounded), then close.
        error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        self->drained_ = 0;
        self->stream_.expires_after(seconds(10));
        return self->drain();
      }
      if (ec || !self->keep_alive_) return self->close();
      self->upload_parser_.reset();
      if (self->watching_) {  // the cancelled watch has not completed yet: read after it
        self->read_after_watch_ = true;
        return;
      }
      self->read_request();
    });
  }

  // Answers an unusable request with a JSON error, then reads and discards what the client is
  // still sending (so closing does not reset the connection before it reads the answer).
  void fail_and_close(int status, const std::string& code, const std::string& message) {
    res_.emplace();
    res_->version(11);
    res_->result(static_cast<unsigned>(status));
    res_->set(bhttp::field::content_type, "application/json");
    res_->keep_alive(false);
    res_->body() = error_json(Error{
        status == 413 ? ErrorCode::kTooLarge : ErrorCode::kInvalidArgument, code, message, ""});
    res_->prepare_payload();
    stream_.expires_after(seconds(opts_.write_timeout_seconds));
    bhttp::async_write(stream_, *res_, [self = shared_from_this()](error_code ec, size_t) {
      self->res_.reset();
      if (ec) return self->close();
      error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->drained_ = 0;
      self->stream_.expires_after(seconds(10));
      self->drain();
    });
  }

  void drain() {
    drain_buf_.resize(64 * 1024);
    stream_.async_read_some(net::buffer(drain_buf_),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > (64u << 20)) return self->close();
                              self->drain();
                            });
  }

  // ---- Streamed answers (Server-Sent Events, chunked bodies) -----------------------------------
  void start_stream(std::shared_ptr<StreamSource> source,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
    auto queue = std::make_shared<SseQueue>(opts_.sse_max_items, opts_.sse_max_bytes);
    std::weak_ptr<Connection> weak = shared_from_this();
    auto ex = executor_;
    auto emit = [queue, ex, weak](std::string frame, bool last) {
      // Never touch the connection here (engine thread): wake it on its own strand.
      if (queue->push(std::move(frame), last)) {
        net::post(ex, [weak] {
          if (auto self = weak.lock()) self->sse_flush();
        });
      }
    };
    sse_queue_ = queue;
    auto sub = source->subscribe(std::move(emit));
    if (!sub.ok()) {
      sse_queue_.reset();
      Response r;
      r.status = http_status(sub.error().code);
      r.body = error_json(sub.error());
      return send(std::move(r));
    }
    chunked_ = source->framing == StreamSource::Framing::kChunked;
    sse_buf_ = stream_head(*source, headers);
    source_ = std::move(source);
    subscription_ = *sub;
    sse_writing_ = true;
    stream_.expires_after(seconds(opts_.write_timeout_seconds));
    net::async_write(stream_, net::buffer(sse_buf_),
                     [self = shared_from_this()](error_code ec, size_t) {
                       self->sse_writing_ = false;
                       if (ec) return self->close();
                       self->sse_started_ = true;
                       self->watch_for_hangup();
                       if (!self->chunked_) self->schedule_ping();
                       self->sse_flush();
                     });
  }

  // The client sends nothing more on an event stream; a completed read means it hung up.
  void watch_for_hangup() {
    hangup_buf_.resize(512);
    stream_.socket().async_read_some(net::buffer(hangup_buf_),
                                     [self = shared_from_this()](error_code ec, size_t) {
                                       if (ec) return self->close();
                                       self->watch_for_hangup();
                                     });
  }

  void schedule_ping() {
    ping_timer_.expires_after(seconds(opts_.sse_ping_seconds));
    ping_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->closed_ || !self->sse_queue_) return;
      if (self->sse_queue_->push(": ping\n\n", false)) self->sse_flush();
      self->schedule_ping();
    });
  }

  void sse_flush() {
    if (!sse_started_ || sse_writing_ || closed_ || !sse_queue_) return;
    auto batch = sse_queue_->take();
    if (batch.overflow) {
      spdlog::warn("event stream client too slow (queue over {} items or {} bytes); closing",
                   opts_.sse_max_items, opts_.sse_max_bytes);
      return close();
    }
    if (batch.data.empty() && (!batch.end || !chunked_)) {
      if (batch.end) close();
      return;
    }
    sse_buf_ = chunked_ ? as_chunks(batch.data, batch.end) : std::move(batch.data);
    bool end = batch.end;
    sse_writing_ = true;
    stream_.expires_after(seconds(opts_.write_timeout_seconds));
    net::async_write(stream_, net::buffer(sse_buf_),
                     [self = shared_from_this(), end](error_code ec, size_t) {
                       self->sse_writing_ = false;
                       if (ec || end) return self->close();
                       self->sse_flush();
                     });
  }

  void unsubscribe() {
    if (source_ && subscription_) {
      auto id = *subscription_;
      subscription_.reset();
      source_->unsubscribe(id);
    }
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    unsubscribe();
    ping_timer_.cancel();
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  net::any_io_executor executor_;
  net::steady_timer ping_timer_;
  const ServerOptions& opts_;
  std::shared_ptr<Handler> handler_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> upload_parser_;  // streamed body
  std::shared_ptr<BodySink> upload_sink_;
  std::vector<char> upload_buf_;
  bool raw_upload_ = false;         // the streamed body has a Content-Length: read_raw_chunk
  uint64_t raw_left_ = 0;           // its bytes not read yet
  std::shared_ptr<FileBody> file_;  // download in progress
  uint64_t file_sent_ = 0;
  std::string file_buf_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  bool keep_alive_ = false;
  bool closed_ = false;
  // `?wait=S` answers: watch for a hangup while the answer is pending (watch_pending).
  bool answering_ = false;  // send() began answering the current request
  bool watching_ = false;   // a hangup watch read is outstanding
  bool read_after_watch_ = false;
  std::shared_ptr<HangupWatch> pending_hangup_;
  uint64_t served_ = 0;
  std::vector<char> drain_buf_;
  size_t drained_ = 0;
  // SSE
  std::shared_ptr<SseQueue> sse_queue_;
  std::shared_ptr<StreamSource> source_;
  std::optional<uint64_t> subscription_;
  std::string sse_buf_;
  std::vector<char> hangup_buf_;
  bool sse_started_ = false;
  bool sse_writing_ = false;
  bool chunked_ = false;  // the stream is a chunked body (StreamSource::Framing::kChunked)
};

}  // namespace

struct Server::Impl {
  ServerOptions opts;
  std::shared_ptr<Handler> handler;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  net::steady_timer retry{ioc};
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool stopped = false;

  Impl(const ServerOptions& o, Handler h)
      : opts(o), handler(std::make_shared<Handler>(std::move(h))), ioc(o.io_threads) {}

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (ec) {
        spdlog::warn("accept failed: {}", ec.message());
        retry.expires_after(std::chrono::milliseconds(100));
        retry.async_wait([this](error_code e) {
          if (!e) accept();
        });
        return;
      }
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Connection>(std::move(socket), opts, handler)->start();
      accept();
    });
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Server>> Server::start(const ServerOptions& options, Handler handler) {
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  std::string where = options.host + ":" + std::to_string(options.port);
  error_code ec;
  auto addr = net::ip::make_address(options.host == "localhost" ? "127.0.0.1" : options.host, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "cannot listen on " + where + ": not an IP address", "listen");
  }
  tcp::endpoint ep(addr, options.port);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(ErrorCode::kUnavailable, "unavailable",
                      "cannot listen on " + where + ": " + ec.message(), "listen");
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->accept();
  int n = options.io_threads < 1 ? 1 : options.io_threads;
  for (int i = 0; i < n; ++i) {
    impl->threads.emplace_back([p = impl.get()] { p->ioc.run(); });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->port; }

void Server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  net::post(impl_->ioc, [p = impl_.get()] {
    error_code ignored;
    p->acceptor.close(ignored);
    p->retry.cancel();
  });
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

Server::~Server() { stop(); }

}  // namespace enclave::http
