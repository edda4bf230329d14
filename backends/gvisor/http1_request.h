// HTTP/1.1 requests as the egress proxy reads them from a sandbox when it injects a secret
// (pure, bounded): the head is parsed strictly — one way to frame a body, no obsolete line
// folding, no bare CR or LF, HTTP/2 and protocol upgrades refused — so what the proxy forwards
// is exactly what it checked, and a request cannot smuggle a second one past it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::backends::gvisor::http1 {

struct Header {
  std::string name, value;
};

struct RequestHead {
  std::string method, target, version;
  std::vector<Header> headers;
  enum class Body { kNone, kLength, kChunked } body = Body::kNone;
  uint64_t content_length = 0;
};

struct Limits {
  size_t max_head_bytes = 16 << 10;
  size_t max_headers = 100;
};

// Why a head is refused. The reason strings are what the audit records.
enum class Refusal { kNone, kMalformed, kTooLarge, kHttp2, kUpgrade };
const char* refusal_reason(Refusal r);  // "bad_request", "header_too_large", …

struct Parsed {
  std::optional<RequestHead> head;  // set: a complete head of `consumed` bytes
  size_t consumed = 0;
  Refusal refusal = Refusal::kNone;  // set: refuse the request and close
};
// Parses the head at the start of `buf`. Neither set: more bytes are needed.
Parsed parse_head(std::string_view buf, const Limits& limits = {});

// The head as forwarded: every header whose lower-cased name is in `strip` dropped, then `add`.
std::string serialize(const RequestHead& head, const std::vector<std::string>& strip,
                      const std::vector<Header>& add);

// The path of a request target without its query (origin form "/a?b" → "/a"; absolute form
// "http://h:1/a?b" → "/a"), at most 256 characters.
std::string path_of(const std::string& target);

// The authority of an absolute-form target ("http://h:1/a" → "h:1"), or "" for origin form.
std::string authority_of(const std::string& target);

// Follows a request body through the bytes after its head: how many belong to it.
class BodyFramer {
 public:
  explicit BodyFramer(const RequestHead& head);
  // Consumes the prefix of `data` that belongs to the body (nothing past its end). A chunked
  // body's trailer section must be empty: a trailer field fails the body before any of it is
  // consumed (so a header cannot be smuggled in as a trailer).
  size_t feed(std::string_view data);
  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kFailed; }

 private:
  enum class State {
    kLength,
    kSize,
    kData,
    kDataCr,
    kDataLf,
    kTrailerCr,
    kTrailerLf,
    kDone,
    kFailed
  };
  State state_;
  uint64_t remaining_ = 0;
  std::string size_line_;
};

}  // namespace enclave::backends::gvisor::http1
