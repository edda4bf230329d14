// One running call of the E2B adapter (a cell or a command: one turn of its sandbox) and what
// it has streamed. Internal to http/e2b: adapter.cc and its parts share it.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

#include "events/clock.h"
#include "http/e2b/adapter.h"
#include "http/e2b/ndjson.h"
#include "http/e2b/turn_answer.h"

namespace enclave::http::e2b {

struct Adapter::Call {
  CallKind kind = CallKind::kCell;
  Principal principal;
  std::string sandbox_id;
  std::string code;  // the turn's Python (kernel_code.h)
  Clock clock;

  std::mutex mu;
  std::function<void(std::string, bool)> emit;  // set once the client's stream is open
  bool cancelled = false;                       // the client went away
  bool finished = false;                        // the last frame went out
  std::string sent_out, sent_err;               // output of its turn already streamed
  std::string held_out, held_err;               // a cell's partial last line, not sent yet

  // Live output a call streams (and keeps, to send only the rest at the end), per stream: the
  // backend already caps a turn's live output at the stored cap; this bounds the call's memory
  // whatever reaches it. Past it the final answer carries the stored (capped) output.
  static constexpr size_t kMaxLiveBytes = 1u << 20;

  // A live output chunk of its own turn (Engine::exec's on_output).
  void on_output(const StreamItem& item) {
    std::lock_guard lock(mu);
    if (finished || cancelled || item.data.empty()) return;
    bool err = item.stream == "stderr";
    const size_t kept = (err ? sent_err : sent_out).size() + (err ? held_err : held_out).size();
    if (kept >= kMaxLiveBytes) return;
    std::string chunk = item.data.substr(0, kMaxLiveBytes - kept);
    if (kind == CallKind::kCell) {
      auto& held = err ? held_err : held_out;
      held += chunk;
      size_t n = ndjson::sendable_prefix(held);
      if (n == 0) return;
      chunk = held.substr(0, n);
      held.erase(0, n);
    }
    (err ? sent_err : sent_out) += chunk;
    emit(output_frame(kind, item.stream, chunk, rfc3339(clock())), false);
  }

  // The turn's answer: what was not streamed yet, then the outcome and the end of the stream.
  void finish(const Result<api::ExecTurnResult>& r) {
    std::lock_guard lock(mu);
    if (finished) return;
    finished = true;
    if (emit) emit(final_frames(kind, r, sent_out, sent_err, rfc3339(clock())), true);
  }
};

}  // namespace enclave::http::e2b
