#include "events/requests/file_path.h"

namespace enclave::files {

namespace {

Error forbidden(const std::string& field, const std::string& why) {
  return make_error(ErrorCode::kInvalidArgument, "path_forbidden", why, field);
}

// Bytes a name may not hold: NUL and the C0 controls and DEL (they end up in logs and listings).
bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

// Splits `rest` (the text after the root) into names, dropping empty ones and ".".
Result<std::vector<std::string>> split_names(std::string_view rest, const std::string& field) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t next = rest.find('/', pos);
    if (next == std::string_view::npos) next = rest.size();
    std::string_view name = rest.substr(pos, next - pos);
    pos = next + 1;
    if (name.empty() || name == ".") continue;
    if (name == "..") return forbidden(field, "a path may not contain '..'");
    if (name.size() > kMaxComponentBytes)
      return forbidden(field, "a name in the path is longer than 255 bytes");
    out.emplace_back(name);
    if (out.size() > kMaxDepth)
      return forbidden(field, "the path is deeper than 32 directories below /home/user");
  }
  return out;
}

}  // namespace

std::string SessionPath::display() const {
  std::string out(kHome);
  for (const auto& c : components) out += "/" + c;
  return out;
}

Result<SessionPath> parse_session_path(std::string_view path, const std::string& field) {
  if (path.empty()) return forbidden(field, "a path is required");
  if (path.size() > kMaxPathBytes) return forbidden(field, "the path is longer than 1024 bytes");
  if (path.find('\0') != std::string_view::npos)
    return forbidden(field, "the path contains a NUL byte");
  if (has_control(path)) return forbidden(field, "the path contains control characters");
  if (path.front() != '/') return forbidden(field, "the path must be absolute (/home/user/…)");
  if (path.substr(0, kHome.size()) != kHome ||
      (path.size() > kHome.size() && path[kHome.size()] != '/'))
    return forbidden(field, "only paths under /home/user are reachable");
  auto names = split_names(path.substr(kHome.size()), field);
  if (!names) return names.error();
  SessionPath out;
  out.components = std::move(*names);
  return out;
}

Result<std::string> parse_artifact_glob(std::string_view glob, const std::string& field) {
  std::string text(glob);
  if (!text.empty() && text.front() != '/') text = std::string(kHome) + "/" + text;
  auto p = parse_session_path(text, field);
  if (!p) return p.error();
  if (p->is_root()) return forbidden(field, "an artifact glob must name files below /home/user");
  std::string out;
  for (size_t i = 0; i < p->components.size(); ++i) {
    const auto& c = p->components[i];
    const bool last = i + 1 == p->components.size();
    if (c.find("**") != std::string::npos || (!last && c.find_first_of("*?") != std::string::npos))
      return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                        "an artifact glob matches file names only: '*' and '?' in its last part",
                        field);
    out += (i ? "/" : "") + c;
  }
  return out;
}

bool glob_name_matches(std::string_view pattern, std::string_view name) {
  // Iterative wildcard match with one backtrack point: linear in practice, no recursion.
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p, ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace enclave::files
