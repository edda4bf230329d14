#include "http/e2b/kernel_code.h"

#include <google/protobuf/struct.pb.h>

#include "http/e2b/connect_stream.h"
#include "http/json_io.h"

namespace enclave::http::e2b {

extern const char kKernelContextsPy[];  // kernel_contexts.py, embedded by http/CMakeLists.txt

namespace {

// Runs `body` (which defines __enclave_e2b_turn(args) and calls enclave.result once) with the
// JSON document `args_json` and removes the helper from the namespace whatever happens.
std::string wrap(std::string_view body, const std::string& args_json) {
  std::string out(body);
  out += "try:\n    __enclave_e2b_turn(\"";
  out += connect::base64(args_json);
  out += "\")\nfinally:\n    del __enclave_e2b_turn\n";
  return out;
}

std::string json_object(const std::map<std::string, std::string>& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    if (out.size() > 1) out += ',';
    out += json_quote(k) + ":" + json_quote(v);
  }
  return out + "}";
}

// Caps (characters) keep the JSON report under the kernel's 1 MiB result bound even when every
// character is escaped as \uXXXX: (100000 + 10000 + 40000) * 6 < 1 MiB.
// Cells and context calls: the kernel loads kernel_contexts.py once (as the module
// `__enclave_e2b__`, outside the workload's namespace) and hands it the call. Its source travels
// base64-encoded in every call, so a kernel that has not seen it yet needs nothing else.
constexpr std::string_view kContextBodyHead = R"PY(def __enclave_e2b_turn(arg):
    import binascii, json, sys, types
    a = json.loads(binascii.a2b_base64(arg).decode("utf-8"))
    lib = sys.modules.get("__enclave_e2b__")
    if lib is None:
        lib = types.ModuleType("__enclave_e2b__")
        source = binascii.a2b_base64(")PY";
constexpr std::string_view kContextBodyTail = R"PY(").decode("utf-8")
        exec(compile(source, "<enclave-e2b>", "exec"), lib.__dict__)
        sys.modules["__enclave_e2b__"] = lib
    enclave.result({"e2b": lib.handle(a, globals())})
)PY";

const std::string& context_body() {
  static const std::string body = std::string(kContextBodyHead) +
                                  connect::base64(kKernelContextsPy) +
                                  std::string(kContextBodyTail);
  return body;
}

constexpr std::string_view kCommandBody = R"PY(def __enclave_e2b_turn(arg):
    import binascii, json, os, selectors, subprocess, sys
    a = json.loads(binascii.a2b_base64(arg).decode("utf-8"))
    env = dict(os.environ)
    env.update(a["env"])
    try:
        p = subprocess.Popen(a["argv"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env,
                             cwd=a.get("cwd") or (os.path.isdir("/home/user") and "/home/user") or "/tmp")
    except (OSError, ValueError) as e:
        enclave.result({"e2b": {"exitCode": 127, "error": str(e)[:10000]}})
        return
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ, sys.stdout.buffer)
    sel.register(p.stderr, selectors.EVENT_READ, sys.stderr.buffer)
    open_pipes = 2
    while open_pipes:  # ends when the child closes both pipes (the turn timeout bounds it)
        for key, _ in sel.select():
            data = os.read(key.fd, 65536)
            if data:
                key.data.write(data)
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                open_pipes -= 1
    rc = p.wait()
    enclave.result({"e2b": {"exitCode": rc if rc >= 0 else 128 - rc}})
)PY";

Error no_report() {
  return make_error(ErrorCode::kInternal, "internal",
                    "the sandbox ended the call without reporting its outcome");
}

// The {"e2b": {...}} object of a turn's result, or nullptr.
const google::protobuf::Struct* report(const google::protobuf::Value& v) {
  if (v.kind_case() != google::protobuf::Value::kStructValue) return nullptr;
  auto it = v.struct_value().fields().find("e2b");
  if (it == v.struct_value().fields().end() ||
      it->second.kind_case() != google::protobuf::Value::kStructValue)
    return nullptr;
  return &it->second.struct_value();
}

std::string string_field(const google::protobuf::Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  if (it == s.fields().end() || it->second.kind_case() != google::protobuf::Value::kStringValue)
    return "";
  return it->second.string_value();
}

}  // namespace

std::string cell_turn(std::string_view code, const std::map<std::string, std::string>& env,
                      const std::string& context) {
  return wrap(context_body(), "{\"op\":\"cell\",\"code\":" + json_quote(code) + ",\"env\":" +
                                  json_object(env) + ",\"context\":" + json_quote(context) + "}");
}

std::string create_context_turn(const std::string& language,
                                const std::optional<std::string>& cwd) {
  std::string args = "{\"op\":\"create\",\"language\":" + json_quote(language);
  if (cwd) args += ",\"cwd\":" + json_quote(*cwd);
  return wrap(context_body(), args + "}");
}

std::string list_contexts_turn() { return wrap(context_body(), "{\"op\":\"list\"}"); }

std::string remove_context_turn(const std::string& id) {
  return wrap(context_body(), "{\"op\":\"remove\",\"context\":" + json_quote(id) + "}");
}

std::string restart_context_turn(const std::string& id) {
  return wrap(context_body(), "{\"op\":\"restart\",\"context\":" + json_quote(id) + "}");
}

std::string command_turn(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env,
                         const std::optional<std::string>& cwd) {
  std::string args = "{\"argv\":[";
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i) args += ',';
    args += json_quote(argv[i]);
  }
  args += "],\"env\":" + json_object(env);
  if (cwd) args += ",\"cwd\":" + json_quote(*cwd);
  args += "}";
  return wrap(kCommandBody, args);
}

Result<CellOutcome> read_cell_outcome(const google::protobuf::Value& turn_json) {
  const auto* r = report(turn_json);
  if (!r) return no_report();
  CellOutcome out;
  auto err = r->fields().find("error");
  if (err != r->fields().end() &&
      err->second.kind_case() == google::protobuf::Value::kStructValue) {
    const auto& e = err->second.struct_value();
    out.failed = true;
    out.error_name = string_field(e, "name");
    out.error_value = string_field(e, "value");
    out.traceback = string_field(e, "traceback");
    return out;
  }
  auto text = r->fields().find("text");
  if (text != r->fields().end() &&
      text->second.kind_case() == google::protobuf::Value::kStringValue)
    out.text = text->second.string_value();
  return out;
}

Result<google::protobuf::Struct> read_context_report(const google::protobuf::Value& turn_json) {
  const auto* r = report(turn_json);
  if (!r) return no_report();
  auto err = r->fields().find("error");
  if (err != r->fields().end() &&
      err->second.kind_case() == google::protobuf::Value::kStructValue) {
    const auto& e = err->second.struct_value();
    std::string name = string_field(e, "name");
    auto code = name == "ContextNotFound"   ? ErrorCode::kNotFound
                : name == "TooManyContexts" ? ErrorCode::kConflict
                                            : ErrorCode::kInvalidArgument;
    return make_error(code, name == "ContextNotFound" ? "not_found" : "invalid_argument",
                      string_field(e, "value"));
  }
  return *r;
}

Result<CommandOutcome> read_command_outcome(const google::protobuf::Value& turn_json) {
  const auto* r = report(turn_json);
  if (!r) return no_report();
  auto code = r->fields().find("exitCode");
  if (code == r->fields().end() ||
      code->second.kind_case() != google::protobuf::Value::kNumberValue)
    return no_report();
  CommandOutcome out;
  double v = code->second.number_value();
  out.exit_code = (v >= -255 && v <= 255) ? static_cast<int32_t>(v) : -1;
  out.error = string_field(*r, "error");
  return out;
}

}  // namespace enclave::http::e2b
