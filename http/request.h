// What the HTTP server hands the API layer and gets back: plain structs, no Beast, so the API
// layer (http/api.cc) and the server (http/server.cc) compile independently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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

struct Request {
  std::string method;  // "GET", "POST", …
  std::string target;  // path and query, as sent
  std::string body;
  std::string authorization;   // Authorization header, or empty
  std::string x_api_key;       // X-API-KEY header, or empty
  std::string content_type;    // Content-Type header, or empty
  std::string sandbox_id;      // E2b-Sandbox-Id header (the E2B adapter's calls), or empty
  std::string access_token;    // X-Access-Token header (the E2B adapter's calls), or empty
  std::string origin;          // Origin header (browsers), or empty
  std::string host;            // Host header, or empty
  bool has_preflight = false;  // an Access-Control-Request-Method header was sent (CORS preflight)
  std::shared_ptr<HangupWatch> hangup;  // set by the server; null where nothing watches (tests)
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
};

// Answers one request. `reply` must be called exactly once, from any thread.
using Reply = std::function<void(Response)>;
using Handler = std::function<void(Request, Reply)>;

}  // namespace enclave::http
