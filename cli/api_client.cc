#include "cli/api_client.h"

#include <cstdlib>
#include <iostream>

#include "events/codec/printable.h"

namespace enclave::cli {

std::optional<ApiClient> client_from_env(std::string* error) {
  const char* base = std::getenv("ENCLAVE_BASE_URL");
  std::string text = base && *base ? base : "http://127.0.0.1:8090";
  auto url = parse_url(text, error);
  if (!url) return std::nullopt;
  ApiClient c;
  c.url = *url;
  if (const char* key = std::getenv("ENCLAVE_API_KEY")) c.api_key = key;
  return c;
}

std::string describe_error(const HttpResponse& r) {
  if (r.status == 0) return r.error;
  auto j = parse_json(r.body);
  if (j) {
    if (const JsonValue* e = member(*j, "error")) {
      std::string out = display_member(*e, "code", "error") + ": " + display_member(*e, "message");
      std::string field = display_member(*e, "field");
      if (!field.empty()) out += " (field: " + field + ")";
      return out + " [HTTP " + std::to_string(r.status) + "]";
    }
  }
  std::string snippet = printable(r.body.substr(0, 200));
  return "HTTP " + std::to_string(r.status) + (snippet.empty() ? "" : ": " + snippet);
}

std::optional<ApiAnswer> call(const ApiClient& api, const std::string& method,
                              const std::string& path, const std::string& body) {
  Headers h;
  if (!api.api_key.empty()) h.emplace_back("Authorization", "Bearer " + api.api_key);
  h.emplace_back("Accept", "application/json");
  HttpResponse r = http_request(api.url, method, path, body, h);
  if (r.status < 200 || r.status >= 300) {
    std::cerr << "enclave: " << describe_error(r) << "\n";
    if (r.status == 401 && api.api_key.empty())
      std::cerr << "enclave: set ENCLAVE_API_KEY to an API key (enclaved keys create --data-dir "
                   "DIR --org ORG --role owner prints one)\n";
    else if (r.status == 0)
      std::cerr << "enclave: is enclaved running at " << api.url.host << ":" << api.url.port
                << "? (ENCLAVE_BASE_URL sets where)\n";
    return std::nullopt;
  }
  ApiAnswer a;
  a.status = r.status;
  a.body = std::move(r.body);
  if (auto j = parse_json(a.body)) a.json = std::move(*j);
  return a;
}

}  // namespace enclave::cli
