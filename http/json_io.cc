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

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8_seq_len(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_seq_len(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_seq_len(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string json_quote(std::string_view raw) {
  std::string s = valid_utf8(raw) ? std::string(raw) : sanitize_utf8(raw);
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

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
