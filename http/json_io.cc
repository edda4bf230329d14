#include "http/json_io.h"

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

namespace enclave::http {

namespace {

std::string snake_to_camel(std::string_view s) {
  std::string out;
  bool up = false;
  for (char c : s) {
    if (c == '_') {
      up = true;
    } else if (up) {
      out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
      up = false;
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string field_from_parse_error(std::string_view msg) {
  msg = trim(msg);
  std::string loc;
  if (!msg.empty() && msg.front() == '(') {
    size_t close = msg.find(')');
    if (close == std::string_view::npos) return "";
    loc = std::string(msg.substr(1, close - 1));
    msg = trim(msg.substr(close + 1));
  }
  std::string field;
  // Convert the proto-name path to lowerCamelCase segment by segment.
  size_t start = 0;
  while (start <= loc.size() && !loc.empty()) {
    size_t dot = loc.find('.', start);
    std::string_view seg =
        std::string_view(loc).substr(start, dot == std::string::npos ? dot : dot - start);
    if (!field.empty()) field += '.';
    field += snake_to_camel(seg);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  static constexpr std::string_view kUnknown = ": Cannot find field";
  size_t pos = msg.find(kUnknown);
  if (pos != std::string_view::npos) {
    std::string_view name = trim(msg.substr(0, pos));
    if (!name.empty()) {
      if (!field.empty()) field += '.';
      field += std::string(name);
    }
  }
  return field;
}

std::optional<Error> parse_json_object(std::string_view body, google::protobuf::Message* msg) {
  std::string_view t = trim(body);
  if (t.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "the request body must be a JSON object; it is empty");
  }
  if (!valid_utf8(body)) {
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "the request body is not valid UTF-8");
  }
  if (t.front() != '{') {
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "the request body must be a JSON object");
  }
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), msg, opts);
  if (st.ok()) return std::nullopt;
  std::string detail(st.message());
  if (auto nl = detail.find('\n'); nl != std::string::npos) detail.resize(nl);
  std::string field = field_from_parse_error(detail);
  std::string message;
  if (detail.find("Cannot find field") != std::string::npos && !field.empty()) {
    message = "unknown field \"" + field + "\"";
  } else if (!field.empty()) {
    message = "invalid value for field \"" + field + "\": " + sanitize_utf8(detail);
  } else {
    message = "invalid JSON: " + sanitize_utf8(detail);
  }
  return make_error(ErrorCode::kInvalidArgument, "invalid_argument", std::move(message),
                    std::move(field));
}

std::string to_json(const google::protobuf::Message& msg) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = true;
  opts.preserve_proto_field_names = false;
  std::string out;
  auto st = google::protobuf::util::MessageToJsonString(msg, &out, opts);
  if (!st.ok()) return "{}";
  if (!valid_utf8(out)) out = sanitize_utf8(out);
  return out;
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kQuotaExceeded:
      return 429;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInsufficientStorage:
      return 507;
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kNotImplemented:
      return 501;
  }
  return 500;
}

std::string default_reason(ErrorCode code) {
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
      return "conflict";
    case ErrorCode::kTooLarge:
      return "too_large";
    case ErrorCode::kQuotaExceeded:
      return "quota_exceeded";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInsufficientStorage:
      return "insufficient_storage";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kNotImplemented:
      return "not_implemented";
  }
  return "internal";
}

std::string error_json(const Error& e) {
  std::string reason = e.reason.empty() ? default_reason(e.code) : e.reason;
  std::string message = e.message.empty() ? reason : e.message;
  std::string out =
      "{\"error\":{\"code\":" + json_quote(reason) + ",\"message\":" + json_quote(message);
  if (!e.field.empty()) out += ",\"field\":" + json_quote(e.field);
  out += "}}";
  return out;
}

}  // namespace enclave::http
