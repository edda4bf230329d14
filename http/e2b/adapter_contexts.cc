// The E2B adapter's code contexts (POST/GET /contexts, DELETE /contexts/{id},
// POST /contexts/{id}/restart): each one turn of the sandbox's kernel (kernel_code.h).
#include <google/protobuf/struct.pb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "backends/session_files.h"
#include "events/requests/session_request.h"
#include "http/auth.h"
#include "http/e2b/access_token.h"
#include "http/e2b/adapter.h"
#include "http/e2b/adapter_call.h"
#include "http/e2b/adapter_replies.h"
#include "http/e2b/connect_stream.h"
#include "http/e2b/e2b.pb.h"
#include "http/e2b/envd_files.h"
#include "http/e2b/kernel_code.h"
#include "http/e2b/ndjson.h"
#include "http/e2b/routes.h"
#include "http/e2b/turn_answer.h"
#include "http/e2b/wire_error.h"
#include "http/json_io.h"
#include "http/query.h"
#include "http/routes.h"

namespace enclave::http::e2b {

std::optional<Error> Adapter::language_missing(const Call& call, const std::string& language,
                                               const std::string& field) const {
  if (language == "python") return std::nullopt;  // every sandbox's kernel is Python
  std::shared_lock lock(mu_);
  if (!engine_) return unavailable();
  auto s = engine_->get_session(call.principal, call.sandbox_id);
  auto images = engine_->list_images(call.principal);
  if (!s || !images) return std::nullopt;  // the turn reports what it finds
  std::string name = s->image().empty() ? "default" : s->image();
  for (const auto& image : images->images()) {
    if (image.name() != name) continue;
    for (const auto& l : image.languages()) {
      if (l == language) return std::nullopt;
    }
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "this sandbox's image \"" + name + "\" has no " + language, field);
  }
  return std::nullopt;
}

void Adapter::context_call(const Request& req, const EndpointMatch& m, Reply reply) {
  auto found = sandbox_call(req);
  if (!found) {
    if (found.error().reason == "sandbox_not_running") {
      return reply(json_response(
          502, "{\"code\":502,\"message\":" + json_quote(found.error().message) + "}"));
    }
    return reply(error_response(found.error()));
  }
  auto call = *found;
  std::string code;
  if (m.endpoint == Endpoint::kCreateContext) {
    auto ctx = parse_new_context(req.body);
    if (!ctx) return reply(error_response(ctx.error()));
    if (auto missing = language_missing(*call, ctx->language, "language"))
      return reply(error_response(*missing));
    code = create_context_turn(ctx->language, ctx->cwd);
  } else if (m.endpoint == Endpoint::kListContexts) {
    code = list_contexts_turn();
  } else {
    if (!context_language(m.context_id)) {
      return reply(error_response(
          make_error(ErrorCode::kNotFound, "not_found",
                     "no code context \"" + sanitize_utf8(m.context_id.substr(0, 80)) + "\"")));
    }
    code = m.endpoint == Endpoint::kRemoveContext ? remove_context_turn(m.context_id)
                                                  : restart_context_turn(m.context_id);
  }
  api::ExecRequest turn;
  turn.set_code(code);
  std::shared_lock lock(mu_);
  if (!engine_) return reply(error_response(unavailable()));
  engine_->exec(call->principal, call->sandbox_id, turn,
                [reply = std::move(reply), endpoint = m.endpoint](Result<api::ExecTurnResult> r) {
                  if (!r) return reply(error_response(r.error()));
                  auto report = read_context_report(r->json());
                  if (!report) return reply(error_response(report.error()));
                  const auto& fields = report->fields();
                  const char* key = endpoint == Endpoint::kCreateContext  ? "context"
                                    : endpoint == Endpoint::kListContexts ? "contexts"
                                                                          : nullptr;
                  if (!key) {
                    Response ok;
                    ok.status = 204;
                    ok.content_type.clear();
                    return reply(std::move(ok));
                  }
                  auto it = fields.find(key);
                  if (it == fields.end()) {
                    return reply(error_response(
                        make_error(ErrorCode::kInternal, "internal",
                                   "the sandbox ended the call without reporting its outcome")));
                  }
                  reply(json_response(200, to_json(it->second)));
                });
}

}  // namespace enclave::http::e2b
