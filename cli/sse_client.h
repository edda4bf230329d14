// Reading Server-Sent Events (GET /v1/sessions/{id}/events) from the CLI and the demo drivers.
#pragma once

#include <functional>
#include <string>

#include "cli/api_client.h"

namespace enclave::cli {

struct SseEvent {
  std::string event;  // "audit", "output", "end"
  std::string data;   // the data lines joined with '\n' (JSON for Enclave's events)
};

// Splits a byte stream into events; comments (": ping") and ids are skipped.
class SseParser {
 public:
  // Feeds bytes; calls `on_event` for each complete event. Stops early (returns false) when
  // `on_event` returns false.
  bool feed(const std::string& bytes, const std::function<bool(const SseEvent&)>& on_event);

  static constexpr size_t kMaxEventBytes = 16u << 20;  // an incomplete event beyond: stop

 private:
  std::string buf_;
};

// Follows a session's event stream until the server ends it or `on_event` returns false.
// Returns false (after printing the API's error) when the stream cannot be opened.
bool follow_session_events(const ApiClient& api, const std::string& session_id,
                           const std::function<bool(const SseEvent&)>& on_event);

// Follows the event stream at `path` (e.g. "/v1/fleets/ID/events") until the server ends it or
// `on_event` returns false. Returns the HTTP answer: status 200 when the stream was open (its
// body is not kept), else the error answer, printed by nobody (the caller decides).
HttpResponse follow_events(const ApiClient& api, const std::string& path,
                           const std::function<bool(const SseEvent&)>& on_event);

}  // namespace enclave::cli
