#include "http/api.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

#include "events/policy/storage_gate.h"
#include "events/secrets.h"
#include "http/auth.h"
#include "http/browser_guard.h"
#include "http/files_api.h"
#include "http/json_io.h"
#include "http/log_api.h"
#include "http/openapi.h"
#include "http/query.h"
#include "http/routes.h"
#include "http/sse.h"
#include "http/ui.h"
#include "http/wait_param.h"

namespace enclave::http {

namespace {

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response error_response(const Error& e) {
  Response r = json_response(http_status(e.code), error_json(e));
  if (e.retry_after_s > 0) r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s));
  return r;
}

template <typename T>
Response answer(const Result<T>& r, int ok_status = 200) {
  if (!r.ok()) return error_response(r.error());
  return json_response(ok_status, to_json(r.value()));
}

// A body already rendered (JSON unless the caller sets another content type), or the error.
Response text_answer(const Result<std::string>& r) {
  if (!r.ok()) return error_response(r.error());
  return json_response(200, r.value());
}

// A reply that can be handed to the engine: copyable, calls `reply` with the message's JSON.
template <typename T>
Callback<T> reply_with(Reply reply, int ok_status, std::function<void(T&)> fix = nullptr) {
  return [reply = std::move(reply), ok_status, fix = std::move(fix)](Result<T> r) {
    if (r.ok() && fix) fix(r.value());
    reply(answer(r, ok_status));
  };
}

// One SSE frame; `id_key` names the id in the `end` frame ("sessionId" or "fleetId").
std::string frame_for(const StreamItem& item, const std::string& id, std::string_view id_key) {
  switch (item.kind) {
    case StreamItem::Kind::kAudit:
      return sse_frame("audit", to_json(item.audit));
    case StreamItem::Kind::kOutput:
      return sse_frame("output", "{\"stream\":" + json_quote(item.stream) +
                                     ",\"data\":" + json_quote(item.data) +
                                     ",\"turn\":" + std::to_string(item.turn) +
                                     (item.truncated ? ",\"truncated\":true}" : "}"));
    case StreamItem::Kind::kEnd:
      return sse_frame("end", "{\"" + std::string(id_key) + "\":" + json_quote(id) + "}");
    case StreamItem::Kind::kFleet:
      return sse_frame(item.fleet_delta ? "members" : "fleet", to_json(item.fleet));
  }
  return "";
}

// A dashboard file (`name` "" is /ui/ itself). The built dashboard loads only its own files and
// talks only to this origin, which the Content-Security-Policy pins; the fallback page has inline
// script and style, so it goes without.
Response ui_response(const std::string& name) {
  auto f = dashboard_file(name);
  if (!f) {
    return error_response(make_error(ErrorCode::kNotFound, "not_found",
                                     "no such dashboard file: " + sanitize_utf8(name)));
  }
  Response r = json_response(200, std::string(f->body));
  r.content_type = std::string(f->content_type);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (dashboard_built()) {
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; script-src 'self'; style-src 'self'; "
                           "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                           "base-uri 'none'; form-action 'none'");
  }
  return r;
}

// The native API's body rule (issue 17): a JSON body must say `Content-Type: application/json`
// — a browser can send text/plain, form and multipart bodies cross-site without asking, but not
// that. Body-less requests pass; a route that takes no JSON body also accepts raw bytes
// (application/octet-stream). 415 otherwise, naming the header.
std::optional<Response> unsupported_media_type(const Route& route, const Request& req) {
  if (req.body.empty() || route.pattern.rfind("/v1/", 0) != 0) return std::nullopt;
  if (content_type_is(req.content_type, "application/json")) return std::nullopt;
  bool raw_ok = route.request_schema.empty();
  if (raw_ok && content_type_is(req.content_type, "application/octet-stream")) return std::nullopt;
  std::string sent =
      req.content_type.empty() ? "none" : sanitize_utf8(req.content_type.substr(0, 100));
  return json_response(
      415, error_json(Error{ErrorCode::kInvalidArgument, "unsupported_media_type",
                            std::string("a request body must be sent with Content-Type: "
                                        "application/json") +
                                (raw_ok ? " (or application/octet-stream)" : "") + "; got " + sent,
                            "Content-Type"}));
}

}  // namespace

struct Api::Call {
  const Route* route = nullptr;
  std::string id;
  std::string query;
  std::string body;
  Principal principal;
  std::shared_ptr<HangupWatch> hangup;
  std::shared_ptr<BodyChannel> body_channel;  // a streamed body (uploads)
};

Api::Api(Engine* engine, ApiOptions options)
    : engine_(engine), options_(options), openapi_(openapi_json()) {}

void Api::detach() {
  std::unique_lock lock(mu_);
  engine_ = nullptr;
}

void Api::handle(Request req, Reply reply) {
  auto started = std::chrono::steady_clock::now();
  auto target = split_target(req.target);
  // Access log at debug level: method, path (no query: it may carry ids only, but keep it
  // short), status, time. Never headers (they carry API keys).
  Reply logged = [reply = std::move(reply), method = req.method, path = target.path,
                  started](Response r) {
    if (spdlog::should_log(spdlog::level::debug)) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
      spdlog::debug("{} {} → {} ({} µs)", method, sanitize_utf8(path), r.status, us);
    }
    reply(std::move(r));
  };

  auto m = match_route(req.method, target.path);
  if (m.kind == RouteMatch::Kind::kNotFound && target.path == "/ui") {
    Response r = json_response(308, "{}");
    r.headers.emplace_back("Location", "/ui/");
    return logged(std::move(r));
  }
  if (m.kind == RouteMatch::Kind::kNotFound) {
    return logged(error_response(
        make_error(ErrorCode::kNotFound, "not_found",
                   "no such endpoint: " + req.method + " " + sanitize_utf8(target.path))));
  }
  if (m.kind == RouteMatch::Kind::kMethodNotAllowed) {
    Response r = json_response(
        405, error_json(Error{ErrorCode::kInvalidArgument, "method_not_allowed",
                              "method " + sanitize_utf8(req.method) + " is not allowed on " +
                                  sanitize_utf8(target.path) + "; allowed: " + m.allow,
                              ""}));
    r.headers.emplace_back("Allow", m.allow);
    return logged(std::move(r));
  }

  if (auto refused = unsupported_media_type(*m.route, req)) return logged(std::move(*refused));

  std::shared_lock lock(mu_);
  if (!engine_) {
    return logged(error_response(
        make_error(ErrorCode::kUnavailable, "unavailable", "the server is shutting down")));
  }
  Call call;
  call.route = m.route;
  call.id = std::move(m.id);
  call.query = std::move(target.query);
  call.body = std::move(req.body);
  call.hangup = std::move(req.hangup);
  call.body_channel = std::move(req.body_channel);
  bool needs_auth =
      m.route->needs_auth && !(m.route->id == RouteId::kMetrics && options_.metrics_public);
  if (needs_auth) {
    if (options_.auth_disabled) {
      call.principal = default_principal();
    } else {
      auto key = api_key_from_headers(req.authorization, req.x_api_key);
      if (!key) {
        return logged(error_response(
            make_error(ErrorCode::kUnauthenticated, "unauthenticated",
                       "missing API key: send the header 'Authorization: Bearer <api key>'")));
      }
      auto p = engine_->authenticate(*key);
      if (!p) {
        return logged(error_response(make_error(ErrorCode::kUnauthenticated, "unauthenticated",
                                                "unknown or revoked API key")));
      }
      call.principal = std::move(*p);
    }
  }
  if (m.route->pattern.find("{keyId}") != std::string_view::npos && !is_key_id(call.id)) {
    return logged(error_response(
        make_error(ErrorCode::kNotFound, "not_found", "key not found: " + sanitize_utf8(call.id))));
  }
  if (m.route->pattern.find("{name}") != std::string_view::npos && !secrets::valid_name(call.id)) {
    return logged(error_response(make_error(ErrorCode::kNotFound, "not_found", "no such secret")));
  }
  if (m.route->pattern.find("{id}") != std::string_view::npos && !is_id(call.id)) {
    bool fleet = m.route->pattern.rfind("/v1/fleets", 0) == 0;
    // The same words as for a well-formed unknown id (one 404 text per kind, whatever the route),
    // plus what a well-formed id looks like.
    return logged(
        error_response(make_error(ErrorCode::kNotFound, "not_found",
                                  std::string("no such ") + (fleet ? "fleet" : "session") +
                                      " (an id is 32 lowercase hex characters)")));
  }
  dispatch(call, std::move(logged));
}

void Api::dispatch(Call& c, Reply reply) {
  Engine& e = *engine_;
  const Principal& p = c.principal;
  if (is_files_route(c.route->id)) {
    FilesOptions fo;
    fo.max_upload_bytes = options_.max_upload_bytes;
    auto engine_now = [this]() -> Engine* {
      std::shared_lock lock(mu_);
      return engine_;
    };
    return handle_files(
        e, engine_now, fo,
        FilesCall{c.route->id, c.id, c.query, std::move(c.body), p, std::move(c.body_channel)},
        std::move(reply));
  }
  switch (c.route->id) {
    case RouteId::kHealthz: {
      // Degraded (503) while the event log cannot take writes; ok again by itself after.
      auto h = e.health();
      std::string body = std::string("{\"status\":") + (h.ok ? "\"ok\"" : "\"degraded\"");
      if (!h.ok)
        body += ",\"reason\":" + json_quote(h.reason) + ",\"detail\":" + json_quote(h.detail);
      if (options_.replica_fields) body += "," + options_.replica_fields();
      Response r = json_response(h.ok ? 200 : 503,
                                 body + ",\"backend\":" + json_quote(e.backend_name()) + "}");
      if (!h.ok)
        r.headers.emplace_back("Retry-After", std::to_string(storage_gate::kLogRetryAfterSeconds));
      return reply(std::move(r));
    }
    case RouteId::kMetrics: {
      if (!options_.metrics_public && !p.has("metrics:read") && !p.has("admin")) {
        return reply(error_response(make_error(ErrorCode::kPermissionDenied, "permission_denied",
                                               "this API key lacks the scope metrics:read")));
      }
      Response r = json_response(200, e.metrics_text());
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      return reply(std::move(r));
    }
    case RouteId::kOpenApi:
      return reply(json_response(200, openapi_));
    case RouteId::kUi:
    case RouteId::kUiAsset:
      return reply(ui_response(c.id));

    case RouteId::kCreateSession: {
      api::CreateSessionRequest req;
      if (auto err = parse_json_object(c.body, &req)) return reply(error_response(*err));
      auto wait = parse_wait_param(c.query);
      if (!wait.ok()) return reply(error_response(wait.error()));
      if (!*wait) return e.create_session(p, req, reply_with<api::Session>(std::move(reply), 201));
      // Synchronous run: created (one commit), then answered when it has ended.
      auto w = watch_hangup(c.hangup);
      return e.create_session(p, req, [this, w, p, s = **wait, reply](Result<api::Session> r) {
        if (!r.ok()) return reply(answer(r, 201));
        std::shared_lock lock(mu_);
        if (!engine_) return reply(answer(r, 201));
        wait_for(*engine_, w, p, r->id(), s, reply, 201);
      });
    }
    case RouteId::kListSessions: {
      auto params = parse_session_list_query(c.query);
      if (!params.ok()) return reply(error_response(params.error()));
      ListQuery q;
      q.fleet_id = params->fleet_id;
      q.phase = params->phase;
      q.limit = params->limit;
      q.cursor = params->cursor;
      return reply(answer(e.list_sessions(p, q)));
    }
    case RouteId::kGetSession:
      return reply(answer(e.get_session(p, c.id)));
    case RouteId::kGetResult: {
      auto wait = parse_wait_param(c.query);
      if (!wait.ok()) return reply(error_response(wait.error()));
      if (*wait) return wait_for(e, watch_hangup(c.hangup), p, c.id, **wait, std::move(reply), 200);
      auto r = e.get_result(p, c.id);
      if (!r.ok()) return reply(error_response(r.error()));
      if (!r->has_json()) r->mutable_json()->set_null_value({});
      std::string body = to_json(*r);
      // exitCode is always present: null until the workload has exited.
      if (!r->has_exit_code() && body.size() >= 2) body.insert(1, "\"exitCode\":null,");
      return reply(json_response(200, std::move(body)));
    }
    case RouteId::kExec: {
      api::ExecRequest req;
      if (auto err = parse_json_object(c.body, &req)) return reply(error_response(*err));
      return e.exec(
          p, c.id, req,
          reply_with<api::ExecTurnResult>(std::move(reply), 200, [](api::ExecTurnResult& t) {
            if (!t.has_exit_code()) t.mutable_exit_code()->set_null_value({});
          }));
    }
    case RouteId::kGetAudit: {
      auto proof = wants_proof(c.query);
      if (!proof) return reply(error_response(proof.error()));
      if (!*proof) return reply(answer(e.get_audit(p, c.id)));
      return reply(text_answer(audit_with_proofs(e, options_.sth, p, c.id)));
    }
    case RouteId::kLogPublicKey: {
      Response r = text_answer(log_public_key(options_.sth));
      if (r.status == 200) r.content_type = "application/x-pem-file";
      return reply(std::move(r));
    }
    case RouteId::kLogSth:
      return reply(text_answer(log_sth(options_.sth)));
    case RouteId::kLogConsistency:
      return reply(text_answer(log_consistency(options_.sth, c.query)));
    case RouteId::kSessionEvents:
    case RouteId::kFleetEvents: {
      bool fleet = c.route->id == RouteId::kFleetEvents;
      auto source = std::make_shared<StreamSource>();
      source->subscribe = [this, p, fleet, id = c.id](
                              std::function<void(std::string, bool)> emit) -> Result<uint64_t> {
        std::shared_lock lock(mu_);
        if (!engine_) {
          return make_error(ErrorCode::kUnavailable, "unavailable", "the server is shutting down");
        }
        auto on_item = [emit = std::move(emit), id, fleet](const StreamItem& item) {
          emit(frame_for(item, id, fleet ? "fleetId" : "sessionId"),
               item.kind == StreamItem::Kind::kEnd);
        };
        return fleet ? engine_->subscribe_fleet(p, id, std::move(on_item))
                     : engine_->subscribe(p, id, std::move(on_item));
      };
      source->unsubscribe = [this](uint64_t sub) {
        std::shared_lock lock(mu_);
        if (engine_) engine_->unsubscribe(sub);
      };
      Response r;
      r.stream = std::move(source);
      return reply(std::move(r));
    }
    case RouteId::kTeardownSession:
      return e.teardown_session(p, c.id, reply_with<api::Session>(std::move(reply), 200));
    case RouteId::kPauseSession:
      return e.pause_session(p, c.id, reply_with<api::Session>(std::move(reply), 200));
    case RouteId::kResumeSession:
      return e.resume_session(p, c.id, reply_with<api::Session>(std::move(reply), 200));
    case RouteId::kForkSession: {
      api::ForkRequest req;
      if (!c.body.empty())
        if (auto err = parse_json_object(c.body, &req)) return reply(error_response(*err));
      if (!req.count()) req.set_count(1);
      return e.fork_session(p, c.id, req, reply_with<api::ForkResponse>(std::move(reply), 201));
    }

    case RouteId::kCreateFleet: {
      api::CreateFleetRequest req;
      if (auto err = parse_json_object(c.body, &req)) return reply(error_response(*err));
      return e.create_fleet(p, req, reply_with<api::Fleet>(std::move(reply), 201));
    }
    case RouteId::kListFleets:
      return reply(answer(e.list_fleets(p)));
    case RouteId::kGetFleet:
      return reply(answer(e.get_fleet(p, c.id)));
    case RouteId::kTeardownFleet:
      return e.teardown_fleet(p, c.id, reply_with<api::Fleet>(std::move(reply), 200));

    case RouteId::kCreateKey: {
      api::CreateKeyRequest req;
      if (auto err = parse_json_object(c.body, &req)) return reply(error_response(*err));
      return e.create_key(p, req, reply_with<api::CreatedApiKey>(std::move(reply), 201));
    }
    case RouteId::kListImages:
      return reply(answer(e.list_images(p)));
    case RouteId::kListKeys:
      return reply(answer(e.list_keys(p)));
    case RouteId::kRevokeKey:
      return e.revoke_key(p, c.id, reply_with<api::ApiKey>(std::move(reply), 200));

    case RouteId::kSetSecret: {
      api::CreateSecretRequest req;
      if (auto err = parse_json_object(c.body, &req)) return reply(error_response(*err));
      return e.set_secret(p, req, reply_with<api::Secret>(std::move(reply), 201));
    }
    case RouteId::kListSecrets:
      return reply(answer(e.list_secrets(p)));
    case RouteId::kDeleteSecret:
      return e.delete_secret(p, c.id, reply_with<api::Secret>(std::move(reply), 200));
    case RouteId::kPutFile:
    case RouteId::kGetFile:
    case RouteId::kDeleteFile:
    case RouteId::kListFiles:
    case RouteId::kStatFile:
    case RouteId::kMakeDir:
    case RouteId::kMoveFile:
    case RouteId::kListArtifacts:
    case RouteId::kGetArtifact:
      break;  // answered above (http/files_api.cc)
  }
  reply(error_response(make_error(ErrorCode::kInternal, "internal", "unrouted request")));
}

}  // namespace enclave::http
