#include "cli/sse_client.h"

#include <iostream>

namespace enclave::cli {

bool SseParser::feed(const std::string& bytes,
                     const std::function<bool(const SseEvent&)>& on_event) {
  buf_ += bytes;
  // Normalise CRLF so that one separator search works.
  for (size_t p; (p = buf_.find("\r\n")) != std::string::npos;) buf_.erase(p, 1);
  size_t end;
  while ((end = buf_.find("\n\n")) != std::string::npos) {
    std::string block = buf_.substr(0, end);
    buf_.erase(0, end + 2);
    SseEvent ev;
    bool has_data = false;
    size_t pos = 0;
    while (pos <= block.size()) {
      size_t nl = block.find('\n', pos);
      std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      if (line.rfind("event:", 0) == 0) {
        ev.event = line.substr(line.size() > 6 && line[6] == ' ' ? 7 : 6);
      } else if (line.rfind("data:", 0) == 0) {
        if (has_data) ev.data += '\n';
        ev.data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
        has_data = true;
      }
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    if (!has_data && ev.event.empty()) continue;  // a comment or keep-alive
    if (ev.event.empty()) ev.event = "message";
    if (!on_event(ev)) return false;
  }
  // One event larger than any the server sends (its live output is capped, chunks ≤ 1 MiB
  // before JSON escaping): stop rather than buffer without bound.
  if (buf_.size() > kMaxEventBytes) {
    std::cerr << "enclave: event stream sent an event over " << (kMaxEventBytes >> 20)
              << " MiB; stopping\n";
    return false;
  }
  return true;
}

HttpResponse follow_events(const ApiClient& api, const std::string& path,
                           const std::function<bool(const SseEvent&)>& on_event) {
  Headers h;
  if (!api.api_key.empty()) h.emplace_back("Authorization", "Bearer " + api.api_key);
  SseParser parser;
  return http_stream(api.url, path, h,
                     [&](const std::string& chunk) { return parser.feed(chunk, on_event); });
}

bool follow_session_events(const ApiClient& api, const std::string& session_id,
                           const std::function<bool(const SseEvent&)>& on_event) {
  HttpResponse r = follow_events(api, "/v1/sessions/" + session_id + "/events", on_event);
  if (r.status != 200) {
    std::cerr << "enclave: " << describe_error(r) << "\n";
    return false;
  }
  return true;
}

}  // namespace enclave::cli
