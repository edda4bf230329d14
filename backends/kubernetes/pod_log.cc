#include "backends/kubernetes/pod_log.h"

#include "backends/kubernetes/json.h"
#include "events/codec/base64.h"

namespace enclave::backends::k8s {

std::string base64_decode(std::string_view in, bool* ok) {
  auto out = enclave::base64_decode(in);
  *ok = out.has_value();
  return out.value_or("");
}

PodLog parse_pod_log(std::string_view log) {
  PodLog p;
  bool totals = false;
  while (!log.empty()) {
    auto nl = log.find('\n');
    std::string_view line = log.substr(0, nl);
    log = nl == std::string_view::npos ? std::string_view{} : log.substr(nl + 1);
    if (line.empty()) continue;
    auto j = parse(line);
    if (!j || !j->has_struct_value() || j->struct_value().fields_size() != 1) {
      ++p.malformed_lines;
      continue;
    }
    const auto& [key, v] = *j->struct_value().fields().begin();
    bool ok = true;
    if (key == "o" || key == "e") {
      std::string data = base64_decode(v.string_value(), &ok);
      (key == "o" ? p.stdout_text : p.stderr_text) += data;
    } else if (key == "r") {
      p.result_json = v.string_value();
    } else if (key == "n" && v.has_list_value() && v.list_value().values_size() == 2) {
      p.stdout_bytes = static_cast<uint64_t>(v.list_value().values(0).number_value());
      p.stderr_bytes = static_cast<uint64_t>(v.list_value().values(1).number_value());
      totals = true;
    } else if (key == "x" && v.kind_case() == Json::kNumberValue) {
      p.exit_code = static_cast<int>(v.number_value());
    } else {
      ok = false;
    }
    if (!ok) ++p.malformed_lines;
  }
  if (!totals) {
    p.stdout_bytes = p.stdout_text.size();
    p.stderr_bytes = p.stderr_text.size();
  }
  return p;
}

}  // namespace enclave::backends::k8s
