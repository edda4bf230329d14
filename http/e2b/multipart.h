// A streaming multipart/form-data reader (RFC 7578) for envd's `POST /files`, which the E2B SDKs
// send as a FormData of `file` parts whose filename is the path to write. The body is fed a chunk
// at a time and each part's bytes go straight to its sink: nothing is held whole, whatever the
// upload's size. Everything in it is hostile input: the boundary, each part's head (≤ 8 KiB) and
// the framing are checked; bytes after the closing delimiter are ignored. Pure.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "events/error.h"

namespace enclave::http::e2b::multipart {

inline constexpr size_t kMaxPartHeadBytes = 8 * 1024;

// The boundary of a `multipart/form-data; boundary=…` Content-Type (quoted or not; 1–70
// characters of RFC 2046's set). Errors: another media type, no or a bad boundary (400,
// field "Content-Type").
[[nodiscard]] Result<std::string> boundary_of(std::string_view content_type);

// What a part's head says (Content-Disposition: form-data; name="…"; filename="…").
struct PartHead {
  std::string name;
  std::string filename;  // "%22", "%0D", "%0A" decoded (how browsers and Node escape them)
  bool has_filename = false;
};
// Parses one part's head block (header lines separated by CRLF, without the blank line).
// Errors: no Content-Disposition, or one that is not form-data (400).
[[nodiscard]] Result<PartHead> parse_part_head(std::string_view head);

// The sinks a Reader calls, in order: begin, data…, end for each part. An error from a sink stops
// the reading and is returned by feed()/finish().
struct Sinks {
  std::function<std::optional<Error>(const PartHead&)> begin;
  std::function<std::optional<Error>(const char* data, size_t n)> data;
  std::function<std::optional<Error>()> end;
};

class Reader {
 public:
  Reader(std::string boundary, Sinks sinks);
  // The next bytes of the body.
  [[nodiscard]] std::optional<Error> feed(const char* data, size_t n);
  // The body ended: an error unless the closing delimiter was read.
  [[nodiscard]] std::optional<Error> finish();

 private:
  enum class State { kPreamble, kHead, kBody, kAfterDelimiter, kDone, kFailed };
  std::optional<Error> step();
  std::optional<Error> fail(Error e);

  std::string delimiter_;  // "\r\n--" + boundary
  Sinks sinks_;
  State state_ = State::kPreamble;
  std::string pending_;  // bytes not consumed yet (bounded: a head, or a delimiter's length)
};

}  // namespace enclave::http::e2b::multipart
