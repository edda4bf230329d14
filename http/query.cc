#include "http/query.h"

namespace enclave::http {

Target split_target(std::string_view target) {
  Target t;
  size_t q = target.find('?');
  t.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) t.query = std::string(target.substr(q + 1));
  if (auto h = t.query.find('#'); h != std::string::npos) t.query.resize(h);
  return t;
}

namespace {
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string_view part =
        query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      auto key = percent_decode(part.substr(0, eq));
      auto val =
          percent_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
      if (!key || !val) {
        return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                          "malformed percent-escape in the query string");
      }
      out[*key] = *val;
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

Result<SessionListParams> parse_session_list_query(std::string_view query) {
  auto q = parse_query(query);
  if (!q.ok()) return q.error();
  SessionListParams p;
  for (const auto& [k, v] : *q) {
    if (k == "fleetId") {
      p.fleet_id = v;
    } else if (k == "phase") {
      p.phase = v;
    } else if (k == "limit") {
      auto n = parse_list_limit(v);
      if (!n) return n.error();
      p.limit = *n;
    } else if (k == "cursor") {
      p.cursor = v;
    }
    // Other parameters are ignored (clients may add tracing parameters).
  }
  // The cursor is opaque here: the engine checks it (with the scope) when it lists.
  ListQuery shape = p;
  shape.cursor.clear();
  if (auto checked = validate_list_query(shape); !checked) return checked.error();
  return p;
}

}  // namespace enclave::http
