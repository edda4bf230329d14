#include "http/e2b/requests.h"

#include <google/protobuf/struct.pb.h>

#include "events/requests/image_catalog.h"
#include "http/e2b/connect_stream.h"
#include "http/e2b/e2b.pb.h"
#include "http/json_io.h"

namespace enclave::http::e2b {

namespace {

Error bad(const std::string& field, std::string message) {
  return make_error(ErrorCode::kInvalidArgument, "invalid_argument", std::move(message), field);
}

bool is_set(const google::protobuf::Value& v, bool present) {
  return present && v.kind_case() != google::protobuf::Value::kNullValue &&
         v.kind_case() != google::protobuf::Value::KIND_NOT_SET &&
         !(v.kind_case() == google::protobuf::Value::kBoolValue && !v.bool_value());
}

std::map<std::string, std::string> to_map(
    const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

}  // namespace

std::optional<Error> check_env(const std::map<std::string, std::string>& env,
                               const std::string& field) {
  if (env.size() > 64) return bad(field, field + " has more than 64 entries");
  for (const auto& [k, v] : env) {
    bool ok = !k.empty() && k.size() <= 128 && !(k[0] >= '0' && k[0] <= '9');
    for (char c : k) {
      ok = ok &&
           ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
    }
    if (!ok) {
      return bad(field, field + " names are [A-Za-z_][A-Za-z0-9_]*, not \"" +
                            sanitize_utf8(k.substr(0, 40)) + "\"");
    }
    if (v.find('\0') != std::string::npos)
      return bad(field + "." + k, "environment values cannot contain NUL");
  }
  return std::nullopt;
}

bool is_builtin_template(const std::string& t) {
  return t == kDefaultTemplate || t == "code-interpreter" || t == "base";
}

Result<SandboxSpec> parse_new_sandbox(std::string_view body, const SandboxPolicy& policy) {
  wire::NewSandbox req;
  if (auto err = parse_json_object(body, &req)) return *err;
  SandboxSpec spec;
  spec.template_id = req.templateid();
  if (spec.template_id.empty()) return bad("templateID", "templateID is required");
  // The built-in templates run on the default image; any other template names an Enclave image
  // (`enclaved images build`), checked by the engine when the sandbox is created.
  if (!is_builtin_template(spec.template_id) && !images::valid_image_name(spec.template_id)) {
    return bad("templateID", "unknown template \"" + sanitize_utf8(spec.template_id.substr(0, 80)) +
                                 "\": \"" + std::string(kDefaultTemplate) +
                                 "\" (also \"base\") or the name of an image (GET /v1/images)");
  }
  if (req.has_timeout()) {
    if (req.timeout() < 1 || req.timeout() > policy.max_timeout_seconds) {
      return bad("timeout", "timeout must be 1.." + std::to_string(policy.max_timeout_seconds) +
                                " seconds on this server, not " + std::to_string(req.timeout()));
    }
    spec.timeout_seconds = req.timeout();
  } else if (spec.timeout_seconds > policy.max_timeout_seconds) {
    spec.timeout_seconds = policy.max_timeout_seconds;
  }
  spec.env = to_map(req.envvars());
  if (auto err = check_env(spec.env, "envVars")) return *err;
  if (req.has_autopause() && req.autopause())
    return bad("autoPause", "pausing sandboxes is not supported by Enclave");
  struct Unsupported {
    const char* field;
    bool set;
    const char* what;
  };
  const Unsupported unsupported[] = {
      {"network", is_set(req.network(), req.has_network()), "network rules are"},
      {"mcp", is_set(req.mcp(), req.has_mcp()), "MCP gateways are"},
      {"iam", is_set(req.iam(), req.has_iam()), "workload identity tokens are"},
      {"autoPauseMemory", is_set(req.autopausememory(), req.has_autopausememory()),
       "pausing sandboxes is"},
      {"autoResume", is_set(req.autoresume(), req.has_autoresume()), "resuming sandboxes is"},
      {"volumeMounts", is_set(req.volumemounts(), req.has_volumemounts()), "volumes are"},
      {"alias", is_set(req.alias(), req.has_alias()), "template aliases are"},
  };
  for (const auto& u : unsupported) {
    if (u.set) return bad(u.field, std::string(u.what) + " not supported by Enclave");
  }
  spec.internet = req.has_allow_internet_access() && req.allow_internet_access() &&
                  !policy.internet_allow.empty();
  return spec;
}

api::CreateSessionRequest to_session_request(const SandboxSpec& spec, const SandboxPolicy& policy) {
  api::CreateSessionRequest req;
  req.set_language("python");
  req.set_exec_mode("interactive");
  auto* eg = req.mutable_egress();
  if (spec.internet) {
    eg->set_mode("allow_list");
    for (const auto& hp : policy.internet_allow) eg->add_allow(hp);
  } else {
    eg->set_mode("deny_all");
  }
  req.mutable_limits()->set_wall_clock_seconds(kTurnSeconds);
  for (const auto& [k, v] : spec.env) (*req.mutable_env())[k] = v;
  req.set_name("e2b:" + spec.template_id);
  if (!is_builtin_template(spec.template_id)) req.set_image(spec.template_id);
  return req;
}

Result<int32_t> parse_set_timeout(std::string_view body, const SandboxPolicy& policy) {
  wire::SetTimeout req;
  if (auto err = parse_json_object(body, &req)) return *err;
  if (!req.has_timeout()) return bad("timeout", "timeout is required");
  if (req.timeout() < 1 || req.timeout() > policy.max_timeout_seconds) {
    return bad("timeout", "timeout must be 1.." + std::to_string(policy.max_timeout_seconds) +
                              " seconds on this server, not " + std::to_string(req.timeout()));
  }
  return req.timeout();
}

std::optional<std::string> e2b_language(std::string_view language) {
  if (language == "python") return "python";
  if (language == "js" || language == "javascript") return "javascript";
  if (language == "bash") return "bash";
  return std::nullopt;
}

std::optional<std::string> context_language(std::string_view id) {
  if (id == "default") return "python";
  if (id == "default-javascript") return "javascript";
  if (id == "default-bash") return "bash";
  size_t dash = id.find('-');
  if (dash == std::string_view::npos || id.size() - dash - 1 != 16) return std::nullopt;
  for (char c : id.substr(dash + 1)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  auto language = e2b_language(id.substr(0, dash));
  if (!language || *language != id.substr(0, dash)) return std::nullopt;
  return language;
}

namespace {

Error unknown_language(const std::string& field, const std::string& language) {
  return bad(field, "language \"" + sanitize_utf8(language.substr(0, 40)) +
                        "\" is not supported; Enclave runs python, javascript (js) and bash");
}

}  // namespace

Result<CellRequest> parse_execute(std::string_view body) {
  wire::Execute req;
  if (auto err = parse_json_object(body, &req)) return *err;
  if (req.code().empty()) return bad("code", "code is required");
  std::optional<std::string> language;
  if (req.has_language() && !req.language().empty()) {
    language = e2b_language(req.language());
    if (!language) return unknown_language("language", req.language());
  }
  CellRequest out;
  if (req.has_context_id() && !req.context_id().empty()) {
    auto of = context_language(req.context_id());
    if (!of) {
      return bad("context_id", "unknown code context \"" +
                                   sanitize_utf8(req.context_id().substr(0, 80)) +
                                   "\" (createCodeContext makes one)");
    }
    if (language && *language != *of) {
      return bad("language",
                 "context \"" + req.context_id() + "\" runs " + *of + ", not " + *language);
    }
    out.context = req.context_id();
    language = of;
  } else if (language && *language != "python") {
    out.context = "default-" + *language;
  }
  out.code = req.code();
  out.env = to_map(req.env_vars());
  if (auto err = check_env(out.env, "env_vars")) return *err;
  if (!out.env.empty() && language && *language != "python") {
    return bad("env_vars", "env_vars apply to Python cells only; a " + *language +
                               " context keeps the environment it started with");
  }
  return out;
}

Result<ContextRequest> parse_new_context(std::string_view body) {
  wire::NewContext req;
  if (auto err = parse_json_object(body, &req)) return *err;
  ContextRequest out;
  if (req.has_language() && !req.language().empty()) {
    auto language = e2b_language(req.language());
    if (!language) return unknown_language("language", req.language());
    out.language = *language;
  }
  if (req.has_cwd() && !req.cwd().empty()) {
    const std::string& cwd = req.cwd();
    if (cwd[0] != '/' || cwd.size() > 1024 || cwd.find('\0') != std::string::npos)
      return bad("cwd", "cwd must be an absolute path of at most 1024 bytes without NUL");
    out.cwd = cwd;
  }
  return out;
}

Result<CommandRequest> parse_start_process(std::string_view body) {
  auto payload = connect::decode_request(body);
  if (!payload) return payload.error();
  wire::StartProcess req;
  if (auto err = parse_json_object(*payload, &req)) return *err;
  if (!req.has_process() || req.process().cmd().empty())
    return bad("process.cmd", "process.cmd is required");
  if (is_set(req.pty(), req.has_pty())) return bad("pty", "PTYs are not supported by Enclave");
  if (req.has_stdin() && req.stdin())
    return bad("stdin", "keeping a command's stdin open is not supported by Enclave");
  if (req.process().args_size() > 4096) return bad("process.args", "too many arguments");
  CommandRequest out;
  out.argv.push_back(req.process().cmd());
  for (const auto& a : req.process().args()) out.argv.push_back(a);
  for (const auto& a : out.argv) {
    if (a.find('\0') != std::string::npos)
      return bad("process.args", "arguments cannot contain NUL");
  }
  out.env = to_map(req.process().envs());
  if (auto err = check_env(out.env, "process.envs")) return *err;
  if (req.process().has_cwd() && !req.process().cwd().empty()) {
    if (req.process().cwd().find('\0') != std::string::npos)
      return bad("process.cwd", "cwd cannot contain NUL");
    out.cwd = req.process().cwd();
  }
  return out;
}

Result<files::SessionPath> sandbox_path(std::string_view path, const std::string& field) {
  std::string p(path);
  if (p.empty() || p == "~") {
    p = std::string(files::kHome);
  } else if (p.rfind("~/", 0) == 0) {
    p = std::string(files::kHome) + p.substr(1);
  } else if (p.front() != '/') {
    p = std::string(files::kHome) + "/" + p;
  }
  return files::parse_session_path(p, field);
}

}  // namespace enclave::http::e2b
