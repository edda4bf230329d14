#include "http/e2b/connect_stream.h"

#include "events/codec/base64.h"
#include "http/json_io.h"

namespace enclave::http::e2b::connect {

std::string envelope(uint8_t flags, std::string_view payload) {
  std::string out;
  out.reserve(5 + payload.size());
  auto n = static_cast<uint32_t>(payload.size());
  out += static_cast<char>(flags);
  out += static_cast<char>((n >> 24) & 0xFF);
  out += static_cast<char>((n >> 16) & 0xFF);
  out += static_cast<char>((n >> 8) & 0xFF);
  out += static_cast<char>(n & 0xFF);
  out += payload;
  return out;
}

Result<std::string> decode_request(std::string_view body) {
  auto bad = [](std::string message) {
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument", std::move(message), "body");
  };
  if (body.size() < 5) return bad("the request is not a Connect envelope (fewer than 5 bytes)");
  auto flags = static_cast<uint8_t>(body[0]);
  uint32_t n = 0;
  for (int i = 1; i <= 4; ++i) n = (n << 8) | static_cast<uint8_t>(body[static_cast<size_t>(i)]);
  if (flags & kFlagCompressed) return bad("compressed Connect messages are not supported");
  if (flags & kFlagEndStream) return bad("the request envelope is marked end-of-stream");
  if (flags != 0) return bad("unknown Connect envelope flags " + std::to_string(flags));
  if (n > kMaxRequestBytes) return bad("the request message is larger than 1 MiB");
  if (body.size() - 5 != n) {
    return bad("the envelope says " + std::to_string(n) + " bytes but " +
               std::to_string(body.size() - 5) + " follow (exactly one message is expected)");
  }
  return std::string(body.substr(5));
}

std::string start_event(uint32_t pid) {
  return envelope(0, "{\"event\":{\"start\":{\"pid\":" + std::to_string(pid) + "}}}");
}

std::string data_event(std::string_view stream, std::string_view data) {
  return envelope(0,
                  "{\"event\":{\"data\":{" + json_quote(stream) + ":\"" + base64(data) + "\"}}}");
}

std::string end_event(int32_t exit_code, std::string_view error) {
  std::string body =
      "{\"event\":{\"end\":{\"exitCode\":" + std::to_string(exit_code) +
      ",\"exited\":true,\"status\":" + json_quote("exit status " + std::to_string(exit_code));
  if (!error.empty()) body += ",\"error\":" + json_quote(error);
  body += "}}}";
  return envelope(0, body);
}

std::string end_stream() { return envelope(kFlagEndStream, "{}"); }

std::string end_stream(const Error& e) {
  return end_stream(code_name(e.code),
                    e.message.empty() ? std::string(code_name(e.code)) : e.message);
}

std::string end_stream(std::string_view code, std::string_view message) {
  return envelope(kFlagEndStream, "{\"error\":{\"code\":" + json_quote(code) +
                                      ",\"message\":" + json_quote(message) + "}}");
}

std::string_view code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kConflict:
      return "failed_precondition";
    case ErrorCode::kTooLarge:
    case ErrorCode::kQuotaExceeded:
    case ErrorCode::kInsufficientStorage:
      return "resource_exhausted";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kNotImplemented:
      return "unimplemented";
  }
  return "internal";
}

std::string base64(std::string_view bytes) { return base64_encode(bytes); }

}  // namespace enclave::http::e2b::connect
