#include "backends/gvisor/http1_request.h"

#include <algorithm>
#include <cctype>

namespace enclave::backends::gvisor::http1 {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool token_char(char c) {
  static const std::string_view extra = "!#$%&'*+-.^_`|~";
  return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
}

bool token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), token_char); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool contains_token(const std::string& list, std::string_view want) {
  size_t pos = 0;
  while (pos <= list.size()) {
    auto comma = list.find(',', pos);
    auto item = trim(std::string_view(list).substr(
        pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (lower(std::string(item)) == want) return true;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return false;
}

Parsed refuse(Refusal r) {
  Parsed p;
  p.refusal = r;
  return p;
}

}  // namespace

const char* refusal_reason(Refusal r) {
  switch (r) {
    case Refusal::kNone:
      return "";
    case Refusal::kMalformed:
      return "bad_request";
    case Refusal::kTooLarge:
      return "header_too_large";
    case Refusal::kHttp2:
      return "http2_refused";
    case Refusal::kUpgrade:
      return "upgrade_refused";
  }
  return "bad_request";
}

Parsed parse_head(std::string_view buf, const Limits& limits) {
  if (buf.substr(0, 3) == "PRI") {
    if (buf.size() < 16) return {};
    if (buf.substr(0, 16) == "PRI * HTTP/2.0\r\n") return refuse(Refusal::kHttp2);
  }
  const auto end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buf.size() > limits.max_head_bytes) return refuse(Refusal::kTooLarge);
    return {};
  }
  if (end + 4 > limits.max_head_bytes) return refuse(Refusal::kTooLarge);
  const std::string_view head = buf.substr(0, end + 2);  // every line ends with CRLF
  for (char c : head.substr(0, end))
    if (c == '\0') return refuse(Refusal::kMalformed);
  RequestHead h;
  size_t pos = 0;
  bool first = true;
  bool has_length = false, has_te = false;
  while (pos < head.size()) {
    const auto eol = head.find("\r\n", pos);
    const std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.find('\r') != std::string_view::npos || line.find('\n') != std::string_view::npos)
      return refuse(Refusal::kMalformed);
    if (first) {
      first = false;
      const auto sp1 = line.find(' ');
      const auto sp2 = line.rfind(' ');
      if (sp1 == std::string_view::npos || sp2 == sp1) return refuse(Refusal::kMalformed);
      h.method = std::string(line.substr(0, sp1));
      h.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
      h.version = std::string(line.substr(sp2 + 1));
      if (h.version == "HTTP/2.0") return refuse(Refusal::kHttp2);
      if (!token(h.method) || h.target.empty() || h.target.find(' ') != std::string::npos ||
          (h.version != "HTTP/1.1" && h.version != "HTTP/1.0") || h.method == "CONNECT")
        return refuse(Refusal::kMalformed);
      continue;
    }
    if (line.empty() || line.front() == ' ' || line.front() == '\t')
      return refuse(Refusal::kMalformed);  // obsolete line folding
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !token(line.substr(0, colon)))
      return refuse(Refusal::kMalformed);
    if (h.headers.size() >= limits.max_headers) return refuse(Refusal::kTooLarge);
    Header f{std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1)))};
    for (char c : f.value)
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return refuse(Refusal::kMalformed);
    const std::string name = lower(f.name);
    if (name == "content-length") {
      if (f.value.empty() || f.value.size() > 18 ||
          !std::all_of(f.value.begin(), f.value.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return refuse(Refusal::kMalformed);
      const uint64_t n = std::stoull(f.value);
      if (has_length && n != h.content_length) return refuse(Refusal::kMalformed);
      has_length = true;
      h.content_length = n;
    } else if (name == "transfer-encoding") {
      if (has_te || lower(f.value) != "chunked") return refuse(Refusal::kMalformed);
      has_te = true;
    } else if (name == "upgrade" || name == "http2-settings") {
      return refuse(Refusal::kUpgrade);
    } else if (name == "connection" && contains_token(f.value, "upgrade")) {
      return refuse(Refusal::kUpgrade);
    }
    h.headers.push_back(std::move(f));
  }
  if (has_length && has_te) return refuse(Refusal::kMalformed);
  if (has_te && h.version != "HTTP/1.1") return refuse(Refusal::kMalformed);
  h.body = has_te ? RequestHead::Body::kChunked
                  : (has_length && h.content_length > 0 ? RequestHead::Body::kLength
                                                        : RequestHead::Body::kNone);
  Parsed p;
  p.head = std::move(h);
  p.consumed = end + 4;
  return p;
}

std::string serialize(const RequestHead& head, const std::vector<std::string>& strip,
                      const std::vector<Header>& add) {
  std::string out = head.method + " " + head.target + " " + head.version + "\r\n";
  for (const auto& f : head.headers) {
    if (std::find(strip.begin(), strip.end(), lower(f.name)) != strip.end()) continue;
    out += f.name + ": " + f.value + "\r\n";
  }
  for (const auto& f : add) out += f.name + ": " + f.value + "\r\n";
  return out + "\r\n";
}

std::string authority_of(const std::string& target) {
  const auto scheme = target.find("://");
  if (scheme == std::string::npos || target[0] == '/') return "";
  const auto start = scheme + 3;
  const auto slash = target.find_first_of("/?#", start);
  return target.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
}

std::string path_of(const std::string& target) {
  std::string path = target;
  if (target.empty() || target[0] != '/') {
    const auto scheme = target.find("://");
    if (scheme == std::string::npos) return target.substr(0, 256);  // "*"
    const auto slash = target.find_first_of("/?#", scheme + 3);
    path = slash == std::string::npos ? "/" : target.substr(slash);
  }
  path = path.substr(0, path.find_first_of("?#"));
  if (path.empty()) path = "/";
  return path.substr(0, 256);
}

BodyFramer::BodyFramer(const RequestHead& head)
    : state_(head.body == RequestHead::Body::kChunked  ? State::kSize
             : head.body == RequestHead::Body::kLength ? State::kLength
                                                       : State::kDone),
      remaining_(head.content_length) {}

size_t BodyFramer::feed(std::string_view data) {
  size_t used = 0;
  auto fail = [&] {
    state_ = State::kFailed;
    return used;
  };
  while (used < data.size() && state_ != State::kDone && state_ != State::kFailed) {
    const char c = data[used];
    switch (state_) {
      case State::kLength:
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size() - used));
        used += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = state_ == State::kLength ? State::kDone : State::kDataCr;
        break;
      }
      case State::kSize: {
        ++used;
        if (c != '\n') {
          if (size_line_.size() >= 256) return fail();
          size_line_ += c;
          break;
        }
        if (size_line_.empty() || size_line_.back() != '\r') return fail();
        size_line_.pop_back();
        const std::string digits = size_line_.substr(0, size_line_.find(';'));
        size_line_.clear();
        if (digits.empty() || digits.size() > 15 ||
            !std::all_of(digits.begin(), digits.end(),
                         [](char d) { return std::isxdigit(static_cast<unsigned char>(d)); }))
          return fail();
        remaining_ = std::stoull(digits, nullptr, 16);
        state_ = remaining_ == 0 ? State::kTrailerCr : State::kData;
        break;
      }
      case State::kDataCr:
        if (c != '\r') return fail();
        ++used;
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return fail();
        ++used;
        state_ = State::kSize;
        break;
      case State::kTrailerCr:
        if (c != '\r') return fail();  // a trailer field: refused before it is forwarded
        ++used;
        state_ = State::kTrailerLf;
        break;
      case State::kTrailerLf:
        if (c != '\n') return fail();
        ++used;
        state_ = State::kDone;
        break;
      case State::kDone:
      case State::kFailed:
        break;
    }
  }
  return used;
}

}  // namespace enclave::backends::gvisor::http1
