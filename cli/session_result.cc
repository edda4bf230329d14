#include "cli/session_result.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

namespace enclave::cli {

namespace {
void write_all(FILE* f, const std::string& s) {
  if (!s.empty()) std::fwrite(s.data(), 1, s.size(), f);
  std::fflush(f);
}

std::string bytes_text(size_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}
}  // namespace

std::optional<ApiAnswer> await_final_result(const ApiClient& api, const std::string& id,
                                            int max_wait_ms, const std::atomic<bool>* stop) {
  using Clock = std::chrono::steady_clock;
  const auto give_up = Clock::now() + std::chrono::milliseconds(max_wait_ms);
  for (;;) {
    // The server answers as soon as the session has ended (or after `wait` seconds): no polling
    // interval to wait out. Short waits keep Ctrl-C (`stop`) responsive.
    auto left = std::chrono::duration_cast<std::chrono::seconds>(give_up - Clock::now()).count();
    auto wait = std::clamp<long long>(left, 0, kWaitChunkSeconds);
    auto r = call(api, "GET", "/v1/sessions/" + id + "/result?wait=" + std::to_string(wait));
    if (!r) return r;
    auto out = result_of_wait(*r);
    if (get_bool(out.json, "final") || Clock::now() >= give_up || (stop && *stop)) return out;
  }
}

ApiAnswer result_of_wait(const ApiAnswer& session) {
  ApiAnswer out;
  out.status = session.status;
  if (const JsonValue* r = member(session.json, "result")) {
    out.json = *r;
    out.body = to_json_text(*r);
  }
  return out;
}

void print_result(const JsonValue& result) {
  write_all(stdout, get_string(result, "stdout"));
  write_all(stderr, get_string(result, "stderr"));
  if (has_value(result, "json")) {
    if (const JsonValue* v = member(result, "json"))
      std::cerr << "enclave: result: " << to_json_text(*v) << "\n";
  }
  if (const JsonValue* t = member(result, "truncated")) {
    for (const char* stream : {"stdout", "stderr"}) {
      if (get_bool(*t, stream))
        std::cerr << "enclave: " << stream << " was truncated: only its first "
                  << bytes_text(get_string(result, stream).size())
                  << " were kept (the server's per-stream output cap)\n";
    }
  }
}

std::string kill_reason_text(const JsonValue& session) {
  const std::string reason = get_string(session, "killReason", "unknown reason");
  const JsonValue* limits = member(session, "limits");
  auto limit = [&](const char* key) { return limits ? display_member(*limits, key) : ""; };
  std::string detail;
  if (reason == "wall_clock_exceeded" && !limit("wallClockSeconds").empty())
    detail = "limit " + limit("wallClockSeconds") + " s";
  else if (reason == "memory_exceeded" && !limit("memoryMb").empty())
    detail = "limit " + limit("memoryMb") + " MiB";
  else if (reason == "pids_exceeded" && !limit("pids").empty())
    detail = "limit " + limit("pids") + " processes";
  return detail.empty() ? reason : reason + " (" + detail + ")";
}

}  // namespace enclave::cli
