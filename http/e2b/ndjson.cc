#include "http/e2b/ndjson.h"

#include "http/json_io.h"

namespace enclave::http::e2b::ndjson {

std::string output(std::string_view stream, std::string_view text, std::string_view timestamp) {
  return "{\"type\":" + json_quote(stream) + ",\"text\":" + json_quote(text) +
         ",\"timestamp\":" + json_quote(timestamp) + "}\n";
}

std::string result(std::string_view text) {
  return "{\"type\":\"result\",\"text\":" + json_quote(text) + ",\"is_main_result\":true}\n";
}

std::string display_result(std::string_view key, std::string_view data) {
  return "{\"type\":\"result\",\"" + std::string(key) + "\":" + json_quote(data) +
         ",\"is_main_result\":false}\n";
}

std::string error(std::string_view name, std::string_view value, std::string_view traceback) {
  return "{\"type\":\"error\",\"name\":" + json_quote(name) + ",\"value\":" + json_quote(value) +
         ",\"traceback\":" + json_quote(traceback) + "}\n";
}

std::string number_of_executions(uint32_t count) {
  return "{\"type\":\"number_of_executions\",\"execution_count\":" + std::to_string(count) + "}\n";
}

std::string end_of_execution() { return "{\"type\":\"end_of_execution\"}\n"; }

size_t sendable_prefix(std::string_view pending, size_t max_partial) {
  size_t nl = pending.rfind('\n');
  size_t lines = nl == std::string_view::npos ? 0 : nl + 1;
  return pending.size() - lines >= max_partial ? pending.size() : lines;
}

}  // namespace enclave::http::e2b::ndjson
