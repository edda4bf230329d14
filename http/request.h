// What the HTTP server hands the API layer and gets back: plain structs, no Beast, so the API
// layer (http/api.cc) and the server (http/server.cc) compile independently.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/error.h"

namespace enclave::http {

// How a handler whose answer may take long (`?wait=S`) hears that its client hung up first: it
// sets `on_hangup` before it returns; the server then watches the connection until it answers
// and, if the client goes away first, calls `on_hangup` once on the connection's thread. The
// handler's reply may then be dropped uncalled (nobody is there to read it).
struct HangupWatch {
  std::function<void()> on_hangup;
};

// Receives a streamed request body (uploads) as it arrives, instead of it being read whole.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The next bytes. An error stops the reading; finish() follows with it.
  virtual std::optional<Error> write(const char* data, size_t n) = 0;
  // The body ended: whole (nullopt), refused by write(), or not whole (the client went away, the
  // read timed out). Called once; the sink then answers through the Reply it holds.
  virtual void finish(std::optional<Error> failed) = 0;
};

// The body of a request whose route streams it (http/routes.h streams_body): the handler starts
// the reading with a sink once it has checked the request; a handler that replies without
// starting it gets its answer sent and the body discarded (the connection is then closed).
class BodyChannel {
 public:
  virtual ~BodyChannel() = default;
  virtual void start(std::shared_ptr<BodySink> sink) = 0;
};

// A response body read from an open file (downloads): `size` bytes from offset 0, streamed, with
// Content-Length. The fd is closed when the answer is done.
struct FileBody {
  FileBody(int f, uint64_t n) : fd(f), size(n) {}
  ~FileBody() {
    if (fd >= 0) ::close(fd);
  }
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;
  int fd = -1;
  uint64_t size = 0;
};

struct Request {
  std::string method;  // "GET", "POST", …
  std::string target;  // path and query, as sent
  std::string body;
  std::string authorization;     // Authorization header, or empty
  std::string x_api_key;         // X-API-KEY header, or empty
  std::string content_type;      // Content-Type header, or empty
  std::string content_encoding;  // Content-Encoding header, or empty (envd uploads refuse gzip)
  std::string sandbox_id;        // E2b-Sandbox-Id header (the E2B adapter's calls), or empty
  std::string access_token;      // X-Access-Token (else E2B-Traffic-Access-Token), or empty
  std::string origin;            // Origin header (browsers), or empty
  std::string host;              // Host header, or empty
  bool has_preflight = false;  // an Access-Control-Request-Method header was sent (CORS preflight)
  std::shared_ptr<HangupWatch> hangup;  // set by the server; null where nothing watches (tests)
  // Set (and `body` empty) when the route streams its body: see BodyChannel.
  std::shared_ptr<BodyChannel> body_channel;
};

// A streamed answer (status 200). `subscribe` is called on the connection's thread; on success
// the stream's frames arrive through `emit(frame, last)` from any thread (it must be cheap and
// never block). `unsubscribe` is called once when the client goes away or the stream ends. Frames
// are written as given, in order; a client that falls behind the server's queue bounds is cut off.
struct StreamSource {
  enum class Framing {
    kSse,      // text/event-stream, body ended by closing the connection, ": ping" comments
    kChunked,  // `content_type`, chunked transfer encoding, no bytes but the frames
  };
  std::function<Result<uint64_t>(std::function<void(std::string frame, bool last)> emit)> subscribe;
  std::function<void(uint64_t subscription)> unsubscribe;
  Framing framing = Framing::kSse;
  std::string content_type = "text/event-stream";  // kChunked only
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow
  std::shared_ptr<StreamSource> stream;  // set: answer with the stream instead of `body`
  std::shared_ptr<FileBody> file;        // set: answer with the file's bytes instead of `body`
};

// Answers one request. `reply` must be called exactly once, from any thread.
using Reply = std::function<void(Response)>;
using Handler = std::function<void(Request, Reply)>;

}  // namespace enclave::http
