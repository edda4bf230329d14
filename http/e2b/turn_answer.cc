#include "http/e2b/turn_answer.h"

#include <google/protobuf/struct.pb.h>

#include "http/e2b/connect_stream.h"
#include "http/e2b/kernel_code.h"
#include "http/e2b/ndjson.h"
#include "http/e2b/requests.h"

namespace enclave::http::e2b {

namespace {

// What `all` holds beyond `sent`, when `sent` is its prefix.
std::string unsent(const std::string& sent, const std::string& all) {
  if (all.size() > sent.size() && all.compare(0, sent.size(), sent) == 0)
    return all.substr(sent.size());
  return "";
}

std::string too_long(const char* what) {
  return std::string("the ") + what + " ran longer than " + std::to_string(kTurnSeconds) +
         " s; the sandbox was stopped";
}

}  // namespace

std::string output_frame(CallKind kind, std::string_view stream, std::string_view data,
                         std::string_view timestamp) {
  if (kind == CallKind::kCommand) return connect::data_event(stream, data);
  return ndjson::output(stream, data, timestamp);
}

std::string final_frames(CallKind kind, const Result<api::ExecTurnResult>& r,
                         const std::string& sent_out, const std::string& sent_err,
                         std::string_view timestamp) {
  if (!r.ok()) {
    if (kind == CallKind::kCommand) return connect::end_stream(r.error());
    return ndjson::error("SandboxError", r.error().message, "") + ndjson::end_of_execution();
  }
  const auto& t = r.value();
  std::string frames;
  if (auto o = unsent(sent_out, t.stdout()); !o.empty())
    frames += output_frame(kind, "stdout", o, timestamp);
  if (auto e = unsent(sent_err, t.stderr()); !e.empty())
    frames += output_frame(kind, "stderr", e, timestamp);
  bool timed_out = t.exit_code().kind_case() != google::protobuf::Value::kNumberValue;
  if (kind == CallKind::kCommand) {
    auto outcome = read_command_outcome(t.json());
    if (timed_out) {
      return frames + connect::end_stream(
                          make_error(ErrorCode::kUnavailable, "unavailable", too_long("command")));
    }
    if (!outcome) return frames + connect::end_stream(outcome.error());
    return frames + connect::end_event(outcome->exit_code, outcome->error) + connect::end_stream();
  }
  auto outcome = read_cell_outcome(t.json());
  if (timed_out) {
    frames += ndjson::error("TimeoutError", too_long("cell"), "");
  } else if (!outcome) {
    frames += ndjson::error("SandboxError", outcome.error().message, t.stderr());
  } else if (outcome->failed) {
    frames += ndjson::error(outcome->error_name, outcome->error_value, outcome->traceback);
  } else {
    // Charts (matplotlib figures open at the end of the cell) and display() output, in order.
    for (const auto& x : t.results()) {
      if (x.is_main_result()) continue;  // the cell's value is the wrapper's `text`
      if (x.type() == "image/png") frames += ndjson::display_result("png", x.data());
      if (x.type() == "text/html") frames += ndjson::display_result("html", x.data());
      if (x.type() == "text/plain") frames += ndjson::display_result("text", x.data());
    }
    if (outcome->text) frames += ndjson::result(*outcome->text);
  }
  return frames + ndjson::number_of_executions(t.turn()) + ndjson::end_of_execution();
}

}  // namespace enclave::http::e2b
