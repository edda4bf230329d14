#include "http/e2b/adapter.h"

#include <google/protobuf/struct.pb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "backends/session_files.h"
#include "events/requests/session_request.h"
#include "http/auth.h"
#include "http/e2b/access_token.h"
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

namespace {

// Reported to the SDKs as the sandbox daemon's version: valid semver ≥ 0.4.0, so they send no
// `Authorization: Basic` user header (Enclave runs everything as one unprivileged user).
constexpr std::string_view kEnvdVersion = "0.5.7";
constexpr std::string_view kNdjson = "application/x-ndjson";
constexpr std::string_view kSessionPrefix = "e2b:";
// The sandbox domain the SDKs are told. They build per-sandbox URLs from it only when
// E2B_SANDBOX_URL is not set; a reserved TLD (RFC 2606) never resolves, so a client that forgot
// E2B_SANDBOX_URL fails at once, naming what to set, instead of sending code to e2b.app.
constexpr std::string_view kSandboxDomain = "set-e2b-sandbox-url.invalid";

Error unauthenticated(std::string message) {
  return make_error(ErrorCode::kUnauthenticated, "unauthenticated", std::move(message));
}

bool is_e2b(const api::Session& s) { return s.name().rfind(kSessionPrefix, 0) == 0; }

bool alive(const api::Session& s) {
  const auto& ph = s.phase();
  return !s.torn_down() && ph != "succeeded" && ph != "failed" && ph != "killed";
}

// `end_ms`: when the sandbox will end at the latest (its E2B timeout or the server's lifetime).
std::string sandbox_json(const api::Session& s, TimeMs end_ms) {
  std::string tmpl = s.name().substr(kSessionPrefix.size());
  std::string started = s.has_started_at() ? s.started_at() : s.created_at();
  std::string out =
      "{\"sandboxID\":" + json_quote(s.id()) + ",\"templateID\":" + json_quote(tmpl) +
      ",\"alias\":" + json_quote(tmpl) + ",\"clientID\":\"enclave\"" + ",\"envdVersion\":\"" +
      std::string(kEnvdVersion) + "\"" + ",\"startedAt\":" + json_quote(started) +
      ",\"endAt\":" + json_quote(s.has_ended_at() ? s.ended_at() : rfc3339(end_ms)) +
      ",\"state\":\"" + (s.phase() == "paused" ? "paused" : "running") + "\",\"metadata\":{}" +
      ",\"allowInternetAccess\":" + (s.egress().mode() == "allow_list" ? "true" : "false") +
      ",\"cpuCount\":" + std::to_string(std::max(1, s.limits().cpu_millis() / 1000)) +
      ",\"memoryMB\":" + std::to_string(s.limits().memory_mb()) + ",\"domain\":\"" +
      std::string(kSandboxDomain) + "\"}";
  return out;
}

Principal token_principal(TokenOwner owner) {
  Principal p;
  p.user_id = std::move(owner.user_id);
  p.org_id = std::move(owner.org_id);
  p.role = "member";
  p.scopes = scopes_for_role("member");
  return p;
}

}  // namespace

// One call that runs a turn in a sandbox (a cell or a command) and streams its answer.
Adapter::Adapter(Engine* engine, AdapterOptions options)
    : engine_(engine), options_(std::move(options)) {
  // A key of its own for access tokens, derived from the credential secret (domain separation).
  token_secret_ = mint_access_token(engine->credential_secret(), "enclave-e2b-token-key",
                                    TokenOwner{"enclave", "enclave"});
}

void Adapter::detach() {
  std::unique_lock lock(mu_);
  engine_ = nullptr;
}

size_t Adapter::live_calls() const {
  std::lock_guard lock(calls_mu_);
  return calls_.size();
}

bool Adapter::owns(std::string_view path) {
  return match_endpoint("GET", path).endpoint != Endpoint::kNone;
}

void Adapter::handle(Request req, Reply raw_reply) {
  auto target = split_target(req.target);
  // Access log at debug level, as the native API's: method, path, status, time; never headers.
  auto started = std::chrono::steady_clock::now();
  Reply reply = [raw_reply = std::move(raw_reply), method = req.method, path = target.path,
                 started](Response r) {
    if (spdlog::should_log(spdlog::level::debug)) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
      spdlog::debug("E2B {} {} → {}{} ({} µs)", method, sanitize_utf8(path), r.status,
                    r.stream ? " stream" : "", us);
    }
    raw_reply(std::move(r));
  };
  auto m = match_endpoint(req.method, target.path);
  switch (m.endpoint) {
    case Endpoint::kNone:
    case Endpoint::kUnsupported:
      return reply(error_response(
          make_error(ErrorCode::kNotFound, "not_found",
                     "Enclave's E2B compatibility does not offer " + sanitize_utf8(req.method) +
                         " " + sanitize_utf8(target.path.substr(0, 200)) + " (see docs/E2B.md)")));
    case Endpoint::kBadMethod:
      return reply(json_response(
          405, "{\"code\":405,\"message\":" +
                   json_quote("method " + sanitize_utf8(req.method) + " is not allowed on " +
                              sanitize_utf8(target.path.substr(0, 200))) +
                   "}"));
    case Endpoint::kUnsupportedRpc: {
      Response r;
      r.content_type = std::string(connect::kContentType);
      r.body = connect::end_stream("unimplemented", "Enclave's E2B compatibility does not offer " +
                                                        sanitize_utf8(target.path.substr(0, 200)) +
                                                        " (see docs/E2B.md)");
      return reply(std::move(r));
    }
    case Endpoint::kExecute:
      return execute(req, std::move(reply));
    case Endpoint::kStartProcess:
      return start_process(req, std::move(reply));
    case Endpoint::kHealth:
      return health(req, std::move(reply));
    case Endpoint::kCreateContext:
    case Endpoint::kListContexts:
    case Endpoint::kRemoveContext:
    case Endpoint::kRestartContext:
      return context_call(req, m, std::move(reply));
    case Endpoint::kWatchDir:
      return watch_dir(req, std::move(reply));
    case Endpoint::kReadFile:
    case Endpoint::kWriteFiles:
    case Endpoint::kFilesystemRpc:
      return sandbox_files(std::move(req), m.endpoint, m.rpc, std::move(reply));
    default:
      break;
  }

  // Control plane: the org's API key, exactly like the native API.
  Principal p;
  {
    std::shared_lock lock(mu_);
    if (!engine_) return reply(error_response(unavailable()));
    if (options_.auth_disabled) {
      p = default_principal();
    } else {
      auto key = api_key_from_headers(req.authorization, req.x_api_key);
      if (!key) return reply(error_response(unauthenticated("missing API key: send X-API-KEY")));
      auto who = engine_->authenticate(*key);
      if (!who) return reply(error_response(unauthenticated("unknown or revoked API key")));
      p = std::move(*who);
    }
  }
  switch (m.endpoint) {
    case Endpoint::kCreateSandbox:
      return create_sandbox(p, std::move(req.body), std::move(reply));
    case Endpoint::kListSandboxes:
      return list_sandboxes(p, std::move(reply));
    case Endpoint::kGetSandbox:
      return get_sandbox(p, m.sandbox_id, std::move(reply));
    case Endpoint::kKillSandbox:
      return kill_sandbox(p, m.sandbox_id, std::move(reply));
    case Endpoint::kSetTimeout:
      return set_timeout(p, m.sandbox_id, std::move(req.body), std::move(reply));
    case Endpoint::kPauseSandbox:
      return pause_sandbox(p, m.sandbox_id, std::move(reply));
    case Endpoint::kConnectSandbox:
      return connect_sandbox(p, m.sandbox_id, std::move(req.body), std::move(reply));
    default:
      break;
  }
  reply(error_response(make_error(ErrorCode::kInternal, "internal", "unrouted E2B request")));
}

// ---- control plane ----------------------------------------------------------------------------

namespace {

// Answers a create once the sandbox is up (the SDKs run code right after create returns), or
// with an error if it ends first. Called from the engine's stream callback; answers once.
struct StartWaiter {
  std::mutex mu;
  bool answered = false;
  uint64_t sub = 0;
  bool have_sub = false;
  bool unsubscribe_now = false;  // answered before the subscription id was known
  Reply reply;
  std::string created_json;

  // true when this call answered (the caller then drops the subscription).
  bool resolve(Response r) {
    std::lock_guard lock(mu);
    if (answered) return false;
    answered = true;
    reply(std::move(r));
    return true;
  }
  // Once answered: drops the subscription now, or as soon as its id is known (safe from the
  // stream callback: unsubscribe takes only the model's subscription lock).
  void drop(Engine* engine) {
    std::lock_guard lock(mu);
    if (have_sub) {
      engine->unsubscribe(sub);
    } else {
      unsubscribe_now = true;
    }
  }
  // The subscription's id is known: kept, or dropped at once if the waiter already answered.
  void subscribed(Engine* engine, uint64_t id) {
    std::lock_guard lock(mu);
    sub = id;
    have_sub = true;
    if (unsubscribe_now) engine->unsubscribe(id);
  }
};

}  // namespace

void Adapter::create_sandbox(const Principal& p, std::string body, Reply reply) {
  auto spec = parse_new_sandbox(body, options_.policy);
  if (!spec) return reply(error_response(spec.error()));
  auto req = to_session_request(*spec, options_.policy);
  std::string tmpl = spec->template_id;
  int32_t timeout = spec->timeout_seconds;
  std::shared_lock lock(mu_);
  if (!engine_) return reply(error_response(unavailable()));
  engine_->create_session(
      p, req, [this, p, tmpl, timeout, reply = std::move(reply)](Result<api::Session> r) mutable {
        if (!r && r.error().field == "image") {  // the template names no image
          auto e = r.error();
          e.field = "templateID";
          e.message = "unknown template \"" + tmpl + "\": " + e.message;
          return reply(error_response(e));
        }
        if (!r) return reply(error_response(r.error()));
        std::string id = r->id();
        arm_timeout(p, id, timeout);  // E2B counts the timeout from the create call
        std::string token =
            json_quote(mint_access_token(token_secret_, id, TokenOwner{p.org_id, p.user_id}));
        // The same token as trafficAccessToken: the code interpreter sends only that one with
        // its context calls (E2B-Traffic-Access-Token), and both with runCode.
        std::string created =
            "{\"sandboxID\":" + json_quote(id) + ",\"templateID\":" + json_quote(tmpl) +
            ",\"alias\":" + json_quote(tmpl) + ",\"clientID\":\"enclave\",\"envdVersion\":\"" +
            std::string(kEnvdVersion) + "\",\"envdAccessToken\":" + token +
            ",\"trafficAccessToken\":" + token + ",\"domain\":\"" + std::string(kSandboxDomain) +
            "\"}";
        auto waiter = std::make_shared<StartWaiter>();
        waiter->reply = std::move(reply);
        waiter->created_json = std::move(created);
        std::shared_lock lock(mu_);
        if (!engine_) return (void)waiter->resolve(error_response(unavailable()));
        Engine* engine = engine_;
        auto sub = engine->subscribe(p, id, [waiter, engine, id](const StreamItem& item) {
          std::optional<Response> answer;
          if (item.kind == StreamItem::Kind::kEnd ||
              (item.kind == StreamItem::Kind::kAudit &&
               (item.audit.type() == "workload_exited" || item.audit.type() == "quota_killed"))) {
            answer = error_response(
                make_error(ErrorCode::kInternal, "internal",
                           "sandbox " + id + " ended before it started: " +
                               (item.kind == StreamItem::Kind::kEnd ? std::string("torn down")
                                                                    : item.audit.message())));
          } else if (item.kind == StreamItem::Kind::kAudit &&
                     item.audit.type() == "sandbox_started") {
            answer = json_response(201, waiter->created_json);
          }
          if (answer && waiter->resolve(std::move(*answer))) waiter->drop(engine);
        });
        if (!sub) return (void)waiter->resolve(error_response(sub.error()));
        waiter->subscribed(engine, *sub);
      });
}

TimeMs Adapter::end_ms(const api::Session& s) const {
  const auto& cfg = engine_->config();
  TimeMs now = cfg.clock();
  TimeMs end = now + cfg.policy.max_lifetime_ms;  // an upper bound when nothing better is known
  if (auto left = deadlines_.remaining(s.id())) {
    end = std::min(end, now + std::chrono::duration_cast<std::chrono::milliseconds>(*left).count());
  }
  return end;
}

void Adapter::list_sandboxes(const Principal& p, Reply reply) {
  std::shared_lock lock(mu_);
  if (!engine_) return reply(error_response(unavailable()));
  std::string out = "[";
  std::string cursor;
  for (int page = 0; page < 100; ++page) {  // bounded: 100 pages of 1000
    ListQuery q;
    q.phase = "running";
    q.limit = 1000;
    q.cursor = cursor;
    auto list = engine_->list_sessions(p, q);
    if (!list) return reply(error_response(list.error()));
    for (const auto& s : list->sessions()) {
      if (!is_e2b(s) || !alive(s)) continue;
      if (out.size() > 1) out += ',';
      out += sandbox_json(s, end_ms(s));
    }
    cursor = list->next_cursor();
    if (cursor.empty()) break;
  }
  reply(json_response(200, out + "]"));
}

void Adapter::get_sandbox(const Principal& p, const std::string& id, Reply reply) {
  std::shared_lock lock(mu_);
  if (!engine_) return reply(error_response(unavailable()));
  if (!is_id(id)) return reply(error_response(sandbox_not_found(id)));
  auto s = engine_->get_session(p, id);
  if (!s || !is_e2b(*s) || !alive(*s)) return reply(error_response(sandbox_not_found(id)));
  reply(json_response(200, sandbox_json(*s, end_ms(*s))));
}

void Adapter::kill_sandbox(const Principal& p, const std::string& id, Reply reply) {
  std::shared_lock lock(mu_);
  if (!engine_) return reply(error_response(unavailable()));
  if (!is_id(id)) return reply(error_response(sandbox_not_found(id)));
  auto s = engine_->get_session(p, id);
  // An ended sandbox is gone, as on E2B: the SDK's kill() then answers false.
  if (!s || !is_e2b(*s) || !alive(*s)) return reply(error_response(sandbox_not_found(id)));
  deadlines_.erase(id);
  engine_->teardown_session(p, id, [reply = std::move(reply)](Result<api::Session> r) {
    if (!r) return reply(error_response(r.error()));
    Response ok;
    ok.status = 204;
    ok.content_type.clear();
    reply(std::move(ok));
  });
}

void Adapter::set_timeout(const Principal& p, const std::string& id, std::string body,
                          Reply reply) {
  auto seconds = parse_set_timeout(body, options_.policy);
  if (!seconds) return reply(error_response(seconds.error()));
  {
    std::shared_lock lock(mu_);
    if (!engine_) return reply(error_response(unavailable()));
    if (!is_id(id)) return reply(error_response(sandbox_not_found(id)));
    auto s = engine_->get_session(p, id);
    if (!s || !is_e2b(*s) || !alive(*s)) return reply(error_response(sandbox_not_found(id)));
    if (!p.has("sessions:write")) {
      return reply(error_response(make_error(ErrorCode::kPermissionDenied, "permission_denied",
                                             "this API key's role may not change sandboxes")));
    }
  }
  arm_timeout(p, id, *seconds);
  Response ok;
  ok.status = 204;
  ok.content_type.clear();
  reply(std::move(ok));
}

void Adapter::pause_sandbox(const Principal& p, const std::string& id, Reply reply) {
  std::shared_lock lock(mu_);
  if (!engine_) return reply(error_response(unavailable()));
  if (!is_id(id)) return reply(error_response(sandbox_not_found(id)));
  auto s = engine_->get_session(p, id);
  if (!s || !is_e2b(*s) || !alive(*s)) return reply(error_response(sandbox_not_found(id)));
  if (s->phase() == "paused")  // the SDK's pause() then answers false
    return reply(json_response(409, "{\"code\":409,\"message\":\"sandbox is already paused\"}"));
  engine_->pause_session(p, id, [this, id, reply = std::move(reply)](Result<api::Session> r) {
    if (!r) return reply(error_response(r.error()));
    deadlines_.erase(id);  // a paused sandbox does not run out its E2B timeout
    Response ok;
    ok.status = 204;
    ok.content_type.clear();
    reply(std::move(ok));
  });
}

void Adapter::connect_sandbox(const Principal& p, const std::string& id, std::string body,
                              Reply reply) {
  // {timeout?: seconds}: as POST /timeout, when given.
  int32_t timeout = 0;
  if (body.find("\"timeout\"") != std::string::npos) {
    auto seconds = parse_set_timeout(body, options_.policy);
    if (!seconds) return reply(error_response(seconds.error()));
    timeout = *seconds;
  }
  std::shared_lock lock(mu_);
  if (!engine_) return reply(error_response(unavailable()));
  if (!is_id(id)) return reply(error_response(sandbox_not_found(id)));
  auto s = engine_->get_session(p, id);
  if (!s || !is_e2b(*s) || !alive(*s)) return reply(error_response(sandbox_not_found(id)));
  if (!p.has("sessions:write"))
    return reply(error_response(make_error(ErrorCode::kPermissionDenied, "permission_denied",
                                           "this API key's role may not change sandboxes")));
  const std::string tmpl = s->name().substr(kSessionPrefix.size());
  auto answer = [this, p, id, tmpl, timeout](int status) {
    if (timeout > 0) arm_timeout(p, id, timeout);
    return json_response(
        status,
        "{\"sandboxID\":" + json_quote(id) + ",\"templateID\":" + json_quote(tmpl) +
            ",\"alias\":" + json_quote(tmpl) + ",\"clientID\":\"enclave\",\"envdVersion\":\"" +
            std::string(kEnvdVersion) + "\",\"envdAccessToken\":" +
            json_quote(mint_access_token(token_secret_, id, TokenOwner{p.org_id, p.user_id})) +
            ",\"domain\":\"" + std::string(kSandboxDomain) + "\"}");
  };
  if (s->phase() != "paused") return reply(answer(200));
  // Resumed through admission; answered once it runs (the SDK runs code right after connect),
  // as a create is answered at sandbox_started. Subscribed before the resume, so no event is
  // missed.
  auto waiter = std::make_shared<StartWaiter>();
  waiter->reply = std::move(reply);
  Engine* engine = engine_;
  auto sub = engine->subscribe(p, id, [waiter, engine, id, answer](const StreamItem& item) {
    std::optional<Response> out;
    if (item.kind == StreamItem::Kind::kEnd ||
        (item.kind == StreamItem::Kind::kAudit && item.audit.type() == "quota_killed")) {
      out = error_response(make_error(ErrorCode::kInternal, "internal",
                                      "sandbox " + id + " ended before it resumed"));
    } else if (item.kind == StreamItem::Kind::kAudit && item.audit.type() == "session_resumed") {
      out = answer(201);
    }
    if (out && waiter->resolve(std::move(*out))) waiter->drop(engine);
  });
  if (!sub) return (void)waiter->resolve(error_response(sub.error()));
  waiter->subscribed(engine, *sub);
  engine->resume_session(p, id, [waiter, engine](Result<api::Session> r) {
    if (!r && waiter->resolve(error_response(r.error()))) waiter->drop(engine);
  });
}

void Adapter::arm_timeout(const Principal& p, const std::string& id, int32_t seconds) {
  deadlines_.set(id, Deadlines::Clock::now() + std::chrono::seconds(seconds), [this, p, id] {
    std::shared_lock lock(mu_);
    if (!engine_) return;
    spdlog::info("E2B sandbox {}: its timeout ran out; tearing it down", id);
    engine_->teardown_session(p, id, [](Result<api::Session>) {});
  });
}

// ---- the sandbox's own endpoints (envdAccessToken) --------------------------------------------

void Adapter::health(const Request& req, Reply reply) {
  Response ok;
  ok.status = 204;
  ok.content_type.clear();
  if (req.sandbox_id.empty()) return reply(std::move(ok));
  auto owner = verify_access_token(token_secret_, req.sandbox_id, req.access_token);
  std::shared_lock lock(mu_);
  if (!engine_) return reply(error_response(unavailable()));
  if (owner && is_id(req.sandbox_id) && engine_->principal_live(owner->user_id)) {
    auto s = engine_->get_session(token_principal(*owner), req.sandbox_id);
    if (s && is_e2b(*s) && alive(*s)) return reply(std::move(ok));
  }
  reply(json_response(502, "{\"code\":502,\"message\":\"sandbox not running\"}"));
}

Result<std::shared_ptr<Adapter::Call>> Adapter::sandbox_call(const Request& req) {
  if (req.sandbox_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "the E2b-Sandbox-Id header is required", "E2b-Sandbox-Id");
  }
  auto owner = verify_access_token(token_secret_, req.sandbox_id, req.access_token);
  if (!owner) {
    return unauthenticated("missing or invalid X-Access-Token for sandbox " +
                           sanitize_utf8(req.sandbox_id.substr(0, 64)));
  }
  auto call = std::make_shared<Call>();
  call->principal = token_principal(*owner);
  call->sandbox_id = req.sandbox_id;
  std::shared_lock lock(mu_);
  if (!engine_) return unavailable();
  // A token dies with the API key it was minted under (revoked keys are refused at once).
  if (!engine_->principal_live(owner->user_id)) {
    return unauthenticated("the API key this sandbox's X-Access-Token was issued under is revoked");
  }
  call->clock = engine_->config().clock;
  auto s = engine_->get_session(call->principal, call->sandbox_id);
  if (!s || !is_e2b(*s)) return sandbox_not_found(req.sandbox_id);
  if (!alive(*s) || s->phase() != "running") {
    std::string why = "sandbox \"" + s->id() + "\" is not running (" + s->phase();
    if (!s->kill_reason().empty()) why += ": " + s->kill_reason();
    return make_error(ErrorCode::kUnavailable, "sandbox_not_running", why + ")");
  }
  return call;
}

void Adapter::execute(const Request& req, Reply reply) {
  auto call = sandbox_call(req);
  if (!call) {
    // 502 is what E2B answers for a sandbox that is gone; the SDK calls it a timeout.
    if (call.error().reason == "sandbox_not_running") {
      return reply(json_response(
          502, "{\"code\":502,\"message\":" + json_quote(call.error().message) + "}"));
    }
    return reply(error_response(call.error()));
  }
  auto cell = parse_execute(req.body);
  if (!cell) return reply(error_response(cell.error()));
  if (auto missing =
          language_missing(**call, context_language(cell->context).value_or("python"), "language"))
    return reply(error_response(*missing));
  (*call)->kind = CallKind::kCell;
  (*call)->code = cell_turn(cell->code, cell->env, cell->context);
  api::ExecRequest turn;
  turn.set_code((*call)->code);
  if (auto valid = validate_exec_request(turn); !valid) return reply(error_response(valid.error()));
  auto source = std::make_shared<StreamSource>();
  source->framing = StreamSource::Framing::kChunked;
  source->content_type = std::string(kNdjson);
  source->subscribe = [this, c = *call](std::function<void(std::string, bool)> emit) {
    return open_stream(c, std::move(emit));
  };
  source->unsubscribe = [this](uint64_t stream) { close_stream(stream); };
  Response r;
  r.stream = std::move(source);
  reply(std::move(r));
}

void Adapter::start_process(const Request& req, Reply reply) {
  auto rpc_error = [&reply](const Error& e) { reply(connect_end_stream(e)); };
  auto found = sandbox_call(req);
  if (!found) return rpc_error(found.error());
  auto call = *found;
  auto cmd = parse_start_process(req.body);
  if (!cmd) return rpc_error(cmd.error());
  call->kind = CallKind::kCommand;
  call->code = command_turn(cmd->argv, cmd->env, cmd->cwd);
  api::ExecRequest turn;
  turn.set_code(call->code);
  if (auto valid = validate_exec_request(turn, {}, "process.args", "the command"); !valid)
    return rpc_error(valid.error());
  auto source = std::make_shared<StreamSource>();
  source->framing = StreamSource::Framing::kChunked;
  source->content_type = std::string(connect::kContentType);
  source->subscribe = [this, call](std::function<void(std::string, bool)> emit) {
    // The SDK waits for the start event before it considers the command started; the pid is
    // a per-server counter (Enclave does not expose the sandbox's pids).
    emit(connect::start_event(static_cast<uint32_t>(next_stream_.load())), false);
    return open_stream(call, std::move(emit));
  };
  source->unsubscribe = [this](uint64_t stream) { close_stream(stream); };
  Response r;
  r.stream = std::move(source);
  reply(std::move(r));
}

// ---- running calls: each one turn of its sandbox ------------------------------------------------

Result<uint64_t> Adapter::open_stream(const std::shared_ptr<Call>& call,
                                      std::function<void(std::string, bool)> emit) {
  {
    std::lock_guard lock(call->mu);
    call->emit = std::move(emit);
  }
  uint64_t stream = next_stream_++;
  {
    // The session actor runs a sandbox's turns one at a time in the order they arrive; this
    // bounds how many of one sandbox's calls may wait for it.
    std::lock_guard lock(calls_mu_);
    size_t waiting = 0;
    for (const auto& [s, c] : calls_) waiting += c->sandbox_id == call->sandbox_id;
    if (waiting > options_.max_waiting_calls) {
      return make_error(ErrorCode::kConflict, "too_many_calls",
                        "too many calls are waiting for sandbox " + call->sandbox_id);
    }
    calls_[stream] = call;
  }
  run(stream, call);
  return stream;
}

void Adapter::close_stream(uint64_t stream) {
  std::shared_ptr<Call> call;
  {
    std::lock_guard lock(calls_mu_);
    auto it = calls_.find(stream);
    if (it == calls_.end()) return;
    call = it->second;
    calls_.erase(it);
  }
  std::lock_guard lock(call->mu);
  call->cancelled = true;  // its turn runs to its end; nothing more is sent
}

void Adapter::run(uint64_t stream, const std::shared_ptr<Call>& call) {
  auto answered = [this, stream, call](const Result<api::ExecTurnResult>& r) {
    call->finish(r);
    std::lock_guard lock(calls_mu_);
    calls_.erase(stream);
  };
  std::shared_lock lock(mu_);
  if (!engine_) return answered(unavailable());
  api::ExecRequest req;
  req.set_code(call->code);
  // The engine streams this turn's own output, then answers: no other turn's output reaches
  // the call, whatever else runs on the sandbox.
  engine_->exec(
      call->principal, call->sandbox_id, req,
      [answered](Result<api::ExecTurnResult> r) { answered(r); },
      [call](const StreamItem& item) { call->on_output(item); });
}

}  // namespace enclave::http::e2b
