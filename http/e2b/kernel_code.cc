#include "http/e2b/kernel_code.h"

#include <google/protobuf/struct.pb.h>

#include "http/e2b/connect_stream.h"
#include "http/json_io.h"

namespace enclave::http::e2b {

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
constexpr std::string_view kCellBody = R"PY(def __enclave_e2b_turn(arg):
    import ast, binascii, json, os, traceback
    a = json.loads(binascii.a2b_base64(arg).decode("utf-8"))
    ns = globals()
    saved = {k: os.environ.get(k) for k in a["env"]}
    os.environ.update(a["env"])
    out = {}
    try:
        tree = ast.parse(a["code"], "<cell>", "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, "<cell>", "exec"), ns)
        if last is not None:
            value = eval(compile(last, "<cell>", "eval"), ns)
            if value is not None:
                out["text"] = repr(value)[:100000]
    except BaseException as e:
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != "<cell>":
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(e), e, tb))
        out = {"error": {"name": type(e).__name__, "value": str(e)[:10000],
                         "traceback": text[-40000:]}}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    enclave.result({"e2b": out})
)PY";

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

std::string cell_turn(std::string_view code, const std::map<std::string, std::string>& env) {
  return wrap(kCellBody, "{\"code\":" + json_quote(code) + ",\"env\":" + json_object(env) + "}");
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
