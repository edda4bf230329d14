#include "http/e2b/multipart.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <utility>
#include <vector>

namespace enclave::http::e2b::multipart {

namespace {

Error bad(std::string message, std::string field = "body") {
  return make_error(ErrorCode::kInvalidArgument, "invalid_argument", std::move(message),
                    std::move(field));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 2046 bchars.
bool boundary_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// The parameters of a header value ("form-data; name=\"a\"; filename=b"), lower-cased names;
// quoted values unquoted (a backslash escapes the next byte). The first item is the value itself.
std::vector<std::pair<std::string, std::string>> params(std::string_view v) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  bool first = true;
  while (i <= v.size()) {
    size_t start = i;
    std::string name, value;
    while (i < v.size() && v[i] != ';' && v[i] != '=') ++i;
    name = lower(trim(v.substr(start, i - start)));
    if (i < v.size() && v[i] == '=') {
      ++i;
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
      if (i < v.size() && v[i] == '"') {
        ++i;
        while (i < v.size() && v[i] != '"') {
          if (v[i] == '\\' && i + 1 < v.size()) ++i;
          value += v[i++];
        }
        ++i;  // the closing quote (or past the end)
        while (i < v.size() && v[i] != ';') ++i;
      } else {
        size_t vs = i;
        while (i < v.size() && v[i] != ';') ++i;
        value = std::string(trim(v.substr(vs, i - vs)));
      }
    }
    if (first || !name.empty()) out.emplace_back(std::move(name), std::move(value));
    first = false;
    ++i;  // the ';'
  }
  return out;
}

// Undoes the percent-escapes Node's and browsers' FormData put in a filename.
std::string decode_filename(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      std::string_view esc = s.substr(i, 3);
      if (esc == "%22") {
        out += '"';
        i += 2;
        continue;
      }
      if (esc == "%0D" || esc == "%0d") {
        out += '\r';
        i += 2;
        continue;
      }
      if (esc == "%0A" || esc == "%0a") {
        out += '\n';
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

Result<std::string> boundary_of(std::string_view content_type) {
  auto ps = params(content_type);
  if (ps.empty() || ps.front().first != "multipart/form-data")
    return bad("expected Content-Type multipart/form-data or application/octet-stream",
               "Content-Type");
  for (size_t i = 1; i < ps.size(); ++i) {
    if (ps[i].first != "boundary") continue;
    const std::string& b = ps[i].second;
    if (b.empty() || b.size() > 70 || b.back() == ' ' ||
        !std::all_of(b.begin(), b.end(), boundary_char))
      return bad("the multipart boundary is malformed", "Content-Type");
    return b;
  }
  return bad("the multipart Content-Type names no boundary", "Content-Type");
}

Result<PartHead> parse_part_head(std::string_view head) {
  size_t pos = 0;
  while (pos <= head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (lower(trim(line.substr(0, colon))) != "content-disposition") continue;
    auto ps = params(line.substr(colon + 1));
    if (ps.empty() || ps.front().first != "form-data")
      return bad("a multipart part is not form-data");
    PartHead h;
    for (size_t i = 1; i < ps.size(); ++i) {
      if (ps[i].first == "name") h.name = ps[i].second;
      if (ps[i].first == "filename") {
        h.filename = decode_filename(ps[i].second);
        h.has_filename = true;
      }
    }
    return h;
  }
  return bad("a multipart part has no Content-Disposition");
}

Reader::Reader(std::string boundary, Sinks sinks)
    : delimiter_("\r\n--" + boundary), sinks_(std::move(sinks)), pending_("\r\n") {}
// (pending_ starts with CRLF so that the body's first "--boundary" reads as a delimiter.)

std::optional<Error> Reader::fail(Error e) {
  state_ = State::kFailed;
  pending_.clear();
  return e;
}

std::optional<Error> Reader::feed(const char* data, size_t n) {
  if (state_ == State::kFailed) return bad("the multipart body was refused already");
  if (state_ == State::kDone) return std::nullopt;  // the epilogue: ignored
  pending_.append(data, n);
  return step();
}

std::optional<Error> Reader::finish() {
  if (state_ == State::kFailed) return bad("the multipart body was refused already");
  if (state_ != State::kDone) return fail(bad("the multipart body ended before its last boundary"));
  return std::nullopt;
}

std::optional<Error> Reader::step() {
  const std::boyer_moore_horspool_searcher find_delim(delimiter_.begin(), delimiter_.end());
  auto search = [&]() -> size_t {
    auto it = std::search(pending_.begin(), pending_.end(), find_delim);
    return it == pending_.end() ? std::string::npos : static_cast<size_t>(it - pending_.begin());
  };
  for (;;) {
    switch (state_) {
      case State::kPreamble: {
        size_t at = search();
        if (at == std::string::npos) {
          // Keep what could still be the start of a delimiter; the rest is preamble.
          if (pending_.size() >= delimiter_.size())
            pending_.erase(0, pending_.size() - (delimiter_.size() - 1));
          return std::nullopt;
        }
        pending_.erase(0, at + delimiter_.size());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kAfterDelimiter: {
        size_t i = 0;
        while (i < pending_.size() && (pending_[i] == ' ' || pending_[i] == '\t')) ++i;
        if (i > 64) return fail(bad("malformed multipart delimiter line"));
        if (pending_.size() < i + 2) return std::nullopt;
        if (i == 0 && pending_.compare(0, 2, "--") == 0) {
          pending_.clear();
          state_ = State::kDone;
          return std::nullopt;
        }
        if (pending_.compare(i, 2, "\r\n") != 0)
          return fail(bad("malformed multipart delimiter line"));
        pending_.erase(0, i + 2);
        state_ = State::kHead;
        break;
      }
      case State::kHead: {
        size_t end = pending_.compare(0, 2, "\r\n") == 0 ? 0 : pending_.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (pending_.size() > kMaxPartHeadBytes)
            return fail(bad("a multipart part's head is larger than 8 KiB"));
          return std::nullopt;
        }
        if (end > kMaxPartHeadBytes)
          return fail(bad("a multipart part's head is larger than 8 KiB"));
        auto head = parse_part_head(std::string_view(pending_).substr(0, end));
        if (!head) return fail(head.error());
        pending_.erase(0, end == 0 ? 2 : end + 4);
        if (auto e = sinks_.begin(*head)) return fail(*e);
        state_ = State::kBody;
        break;
      }
      case State::kBody: {
        size_t at = search();
        if (at == std::string::npos) {
          if (pending_.size() < delimiter_.size()) return std::nullopt;
          size_t send = pending_.size() - (delimiter_.size() - 1);
          if (auto e = sinks_.data(pending_.data(), send)) return fail(*e);
          pending_.erase(0, send);
          return std::nullopt;
        }
        if (at > 0) {
          if (auto e = sinks_.data(pending_.data(), at)) return fail(*e);
        }
        if (auto e = sinks_.end()) return fail(*e);
        pending_.erase(0, at + delimiter_.size());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kDone:
      case State::kFailed:
        return std::nullopt;
    }
  }
}

}  // namespace enclave::http::e2b::multipart
