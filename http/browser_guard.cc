#include "http/browser_guard.h"

#include <algorithm>
#include <memory>

#include "http/auth.h"
#include "http/json_io.h"

namespace enclave::http {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

struct HostPort {
  std::string host;  // lowercase; IPv6 in brackets
  uint32_t port = 0;
};

// "host", "host:port", "[v6]", "[v6]:port"; `default_port` when no port is given.
std::optional<HostPort> parse_host_port(std::string_view text, uint32_t default_port) {
  if (text.empty() || text.size() > 300) return std::nullopt;
  HostPort hp;
  std::string_view port;
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    hp.host = lower(text.substr(0, close + 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    size_t colon = text.find(':');
    hp.host = lower(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (hp.host.empty() || hp.host == "[]") return std::nullopt;
  for (char c : hp.host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_' || c == '[' || c == ']' || c == ':';
    if (!ok) return std::nullopt;
  }
  hp.port = default_port;
  if (!port.empty()) {
    if (port.size() > 5) return std::nullopt;
    uint32_t p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (p == 0 || p > 65535) return std::nullopt;
    hp.port = p;
  }
  return hp;
}

// The host of a Host header without brackets, for is_loopback ("[::1]" → "::1").
std::string bare(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[') return host.substr(1, host.size() - 2);
  return host;
}

Response refusal(const std::string& why, const char* header) {
  Response r;
  r.status = 403;
  r.body = error_json(Error{ErrorCode::kPermissionDenied, "forbidden_origin", why, header});
  return r;
}

void add_cors(Response& r, const std::string& origin) {
  r.headers.emplace_back("Access-Control-Allow-Origin", origin);
  r.headers.emplace_back("Vary", "Origin");
}

}  // namespace

std::optional<std::string> normalize_origin(std::string_view origin) {
  std::string o = lower(origin);
  uint32_t default_port = 0;
  std::string_view rest;
  if (o.rfind("http://", 0) == 0) {
    default_port = 80;
    rest = std::string_view(o).substr(7);
  } else if (o.rfind("https://", 0) == 0) {
    default_port = 443;
    rest = std::string_view(o).substr(8);
  } else {
    return std::nullopt;
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // as operators often write it
  if (rest.find_first_of("/?#@") != std::string_view::npos) return std::nullopt;
  auto hp = parse_host_port(rest, default_port);
  if (!hp) return std::nullopt;
  return o.substr(0, o.find(':')) + "://" + hp->host + ":" + std::to_string(hp->port);
}

OriginVerdict check_origin(std::string_view origin, std::string_view host,
                           const BrowserPolicy& policy) {
  auto listed = [&](const std::string& normalized) {
    return std::find(policy.allowed_origins.begin(), policy.allowed_origins.end(), normalized) !=
           policy.allowed_origins.end();
  };
  auto listed_host = [&](const HostPort& h) {
    for (const auto& a : policy.allowed_origins) {
      size_t start = a.find("://") + 3;
      if (a.compare(start, std::string::npos, h.host + ":" + std::to_string(h.port)) == 0)
        return true;
    }
    return false;
  };
  if (policy.loopback_host_only) {
    auto h = parse_host_port(host, 80);
    if (!h) return {false, false, "the Host header is missing or malformed"};
    if (!is_loopback(bare(h->host)) && !listed_host(*h))
      return {false, false,
              "with --auth disabled only loopback hosts may be named in the Host header (not " +
                  sanitize_utf8(host.substr(0, 100)) + ")"};
  }
  if (origin.empty()) return {};
  auto o = normalize_origin(origin);
  if (!o) {
    return {false, false,
            "requests from the browser origin " + sanitize_utf8(origin.substr(0, 100)) +
                " are refused"};
  }
  // Same origin: the Origin's host:port is the Host the request was sent to.
  uint32_t origin_default = o->rfind("https", 0) == 0 ? 443 : 80;
  size_t start = o->find("://") + 3;
  auto oh = parse_host_port(std::string_view(*o).substr(start), origin_default);
  auto h = parse_host_port(host, origin_default);
  if (oh && h && oh->host == h->host && oh->port == h->port) return {};
  if (listed(*o)) return {true, true, ""};
  return {false, false,
          "requests from the browser origin " + sanitize_utf8(origin.substr(0, 100)) +
              " are refused (start enclaved with --allow-origin " +
              sanitize_utf8(origin.substr(0, 100)) + " to allow it)"};
}

bool content_type_is(std::string_view content_type, std::string_view media_type) {
  size_t semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return lower(type) == lower(media_type);
}

Handler guard_browsers(BrowserPolicy policy, Handler next) {
  auto p = std::make_shared<const BrowserPolicy>(std::move(policy));
  return [p, next = std::move(next)](Request req, Reply reply) {
    auto v = check_origin(req.origin, req.host, *p);
    if (!v.allowed) return reply(refusal(v.why, req.origin.empty() ? "Host" : "Origin"));
    if (!v.cross_origin) return next(std::move(req), std::move(reply));
    std::string origin = req.origin;  // echoed as sent: that is what the browser compares
    if (req.method == "OPTIONS" && req.has_preflight) {
      Response r;
      r.status = 204;
      r.content_type.clear();
      add_cors(r, origin);
      r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE");
      r.headers.emplace_back("Access-Control-Allow-Headers",
                             "Authorization, Content-Type, X-API-KEY, X-Access-Token, "
                             "E2b-Sandbox-Id, Connect-Protocol-Version, Connect-Timeout-Ms");
      r.headers.emplace_back("Access-Control-Max-Age", "600");
      return reply(std::move(r));
    }
    next(std::move(req), [origin, reply = std::move(reply)](Response r) {
      add_cors(r, origin);
      reply(std::move(r));
    });
  };
}

}  // namespace enclave::http
