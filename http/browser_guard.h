// What keeps a web page the operator happens to visit from driving this server (issue 17):
// browsers attach an `Origin` to every cross-site POST, even a `no-cors` one, and to every
// script-made request; they cannot forge it. So a request whose Origin is not the server's own
// is refused 403, unless the operator named that origin (--allow-origin). The server's own
// origin is the one the request was addressed to: the Origin's host:port equals the Host
// header's (a page served by this server, e.g. the dashboard, passes; nothing else does).
// Requests without Origin (curl, the SDKs, the CLI, E2B's SDKs on Node) are not browsers' and
// pass. With auth disabled the Host itself must be a loopback name, which defeats DNS rebinding
// (a page on evil.example re-pointed at 127.0.0.1 is same-origin with itself, but its Host is
// evil.example). Pure, apart from `guard_browsers`, which wraps a Handler with these rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace enclave::http {

// An origin reduced to "scheme://host:port" (lowercase, explicit port: 80 for http, 443 for
// https). nullopt for anything else: "null", a path, userinfo, another scheme, a bad port.
std::optional<std::string> normalize_origin(std::string_view origin);

struct BrowserPolicy {
  // Normalized origins (normalize_origin) allowed besides the server's own (--allow-origin).
  std::vector<std::string> allowed_origins;
  // true (auth disabled): the Host header must name a loopback host (or an allowed origin's).
  bool loopback_host_only = false;
};

struct OriginVerdict {
  bool allowed = true;
  bool cross_origin = false;  // allowed because listed: answer with CORS headers
  std::string why;            // when refused, for the error message
};

// The verdict for a request with these `Origin` and `Host` headers (each "" when absent).
OriginVerdict check_origin(std::string_view origin, std::string_view host,
                           const BrowserPolicy& policy);

// Whether a Content-Type names `media_type` (case-insensitive, parameters such as
// "; charset=utf-8" allowed): content_type_is("Application/JSON; charset=utf-8",
// "application/json") is true, ("application/jsonx", …) false.
bool content_type_is(std::string_view content_type, std::string_view media_type);

// `next` behind the Origin rule: a refused request gets 403 (JSON error naming the `Origin` or
// `Host` header); an allowed foreign origin gets CORS headers, and its preflight (OPTIONS with
// Access-Control-Request-Method) a 204.
Handler guard_browsers(BrowserPolicy policy, Handler next);

}  // namespace enclave::http
