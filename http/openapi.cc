#include "http/openapi.h"

#include <google/protobuf/descriptor.h>

#include <map>
#include <set>

#include "events/api.pb.h"
#include "events/requests/session_request.h"
#include "http/json_io.h"
#include "http/routes.h"

namespace enclave::http {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

std::string schema_ref(const std::string& name) {
  return "{\"$ref\":\"#/components/schemas/" + name + "\"}";
}

// JSON Schema of one field's value (not counting `repeated`).
std::string value_schema(const FieldDescriptor* f, std::set<const Descriptor*>* todo) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "{\"type\":\"integer\"}";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "{\"type\":\"number\"}";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "{\"type\":\"boolean\"}";
    case FieldDescriptor::CPPTYPE_STRING:
    case FieldDescriptor::CPPTYPE_ENUM:
      return "{\"type\":\"string\"}";
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Descriptor* d = f->message_type();
      if (d->full_name() == "google.protobuf.Value") return "{\"nullable\":true}";
      if (d->full_name() == "google.protobuf.Struct") return "{\"type\":\"object\"}";
      todo->insert(d);
      return schema_ref(d->name());
    }
  }
  return "{}";
}

std::string message_schema(const Descriptor* d, std::set<const Descriptor*>* todo) {
  std::string props;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    std::string s;
    if (f->is_map()) {
      s = "{\"type\":\"object\",\"additionalProperties\":" +
          value_schema(f->message_type()->map_value(), todo) + "}";
    } else if (f->is_repeated()) {
      s = "{\"type\":\"array\",\"items\":" + value_schema(f, todo) + "}";
    } else {
      s = value_schema(f, todo);
    }
    if (!props.empty()) props += ",";
    props += json_quote(f->json_name()) + ":" + s;
  }
  return "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{" + props + "}}";
}

std::string operation(const Route& r, std::set<const Descriptor*>* todo) {
  const auto* pool = api::Session::descriptor()->file()->pool();
  auto schema_of = [&](std::string_view name) {
    const Descriptor* d = pool->FindMessageTypeByName("enclave.api." + std::string(name));
    if (d) todo->insert(d);
    return schema_ref(std::string(name));
  };
  std::string op =
      "{\"operationId\":" + json_quote(r.operation_id) + ",\"summary\":" + json_quote(r.summary);
  if (!r.needs_auth) op += ",\"security\":[]";
  std::string params;
  if (r.pattern.find("{id}") != std::string_view::npos) {
    params +=
        "{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\","
        "\"pattern\":\"^[0-9a-f]{32}$\"}}";
  }
  if (r.pattern.find("{keyId}") != std::string_view::npos) {
    params +=
        "{\"name\":\"keyId\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":"
        "\"string\",\"pattern\":\"^[0-9a-f]{1,64}$\"}}";
  }
  if (r.pattern.find("{asset}") != std::string_view::npos) {
    params +=
        "{\"name\":\"asset\",\"in\":\"path\",\"required\":true,\"schema\":{"
        "\"type\":\"string\"}}";
  }
  if (r.id == RouteId::kListSessions) {
    for (const char* q : {"fleetId", "phase", "cursor"}) {
      params += std::string(params.empty() ? "" : ",") + "{\"name\":\"" + q +
                "\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}}";
    }
    params +=
        ",{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\","
        "\"minimum\":1,\"maximum\":1000}}";
  }
  if (is_files_route(r.id) && r.request_schema.empty() && r.id != RouteId::kListArtifacts) {
    params += std::string(params.empty() ? "" : ",") +
              "{\"name\":\"path\",\"in\":\"query\",\"required\":true,\"schema\":{\"type\":"
              "\"string\",\"maxLength\":1024}}";
    if (r.id == RouteId::kListFiles)
      params +=
          ",{\"name\":\"depth\",\"in\":\"query\",\"schema\":{\"type\":\"integer\","
          "\"minimum\":1,\"maximum\":8}}";
  }
  if (r.id == RouteId::kCreateSession || r.id == RouteId::kGetResult) {
    // Synchronous runs (issue 24): answer once the session has ended, or after `wait` seconds
    // with the session as it stands (events/requests/session_request.h parses it).
    params += std::string(params.empty() ? "" : ",") +
              "{\"name\":\"wait\",\"in\":\"query\",\"description\":" +
              json_quote("Seconds to wait for the session to end before answering (0.." +
                         std::to_string(kMaxWaitSeconds) +
                         "): the answer then carries the ended session with its result, or the "
                         "session as it stands when the time is up. Bad values are 400 naming "
                         "`wait`.") +
              ",\"schema\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":" +
              std::to_string(kMaxWaitSeconds) + "}}";
  }
  if (!params.empty()) op += ",\"parameters\":[" + params + "]";
  if (r.id == RouteId::kPutFile) {
    op +=
        ",\"requestBody\":{\"required\":true,\"content\":{\"application/octet-stream\":{"
        "\"schema\":{\"type\":\"string\",\"format\":\"binary\"}}}}";
  }
  if (!r.request_schema.empty()) {
    op += ",\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":" +
          schema_of(r.request_schema) + "}}}";
  }
  std::string ok_schema =
      r.response_schema.empty() ? "{\"type\":\"string\"}" : schema_of(r.response_schema);
  if (r.id == RouteId::kHealthz || r.id == RouteId::kOpenApi) ok_schema = "{\"type\":\"object\"}";
  std::string refusals;
  for (const auto& e : route_errors(r.id)) {
    refusals += "\"" + std::to_string(e.status) + "\":{\"description\":" +
                json_quote(std::string(e.code) + ": " + std::string(e.description)) +
                ",\"content\":{\"application/json\":{\"schema\":" +
                (r.id == RouteId::kHealthz ? std::string("{\"type\":\"object\"}")
                                           : schema_of("ErrorResponse")) +
                "}}},";
  }
  op += ",\"responses\":{\"" + std::to_string(r.success_status) +
        "\":{\"description\":\"success\",\"content\":{" + json_quote(r.response_type) +
        ":{\"schema\":" + ok_schema + "}}}," + refusals +
        "\"default\":{\"description\":\"error\","
        "\"content\":{\"application/json\":{\"schema\":" +
        schema_of("ErrorResponse") + "}}}}}";
  return op;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

}  // namespace

std::string openapi_json() {
  std::set<const Descriptor*> todo;
  std::map<std::string, std::string> paths;  // pattern → "method":op,…
  for (const auto& r : routes()) {
    auto& p = paths[std::string(r.pattern)];
    if (!p.empty()) p += ",";
    p += json_quote(lower(r.method)) + ":" + operation(r, &todo);
  }
  std::map<std::string, std::string> schemas;
  std::set<const Descriptor*> done;
  while (!todo.empty()) {
    const Descriptor* d = *todo.begin();
    todo.erase(todo.begin());
    if (!done.insert(d).second) continue;
    schemas[d->name()] = message_schema(d, &todo);
  }
  std::string out =
      "{\"openapi\":\"3.0.3\",\"info\":{\"title\":\"Enclave API\",\"version\":\"1\"},"
      "\"components\":{\"securitySchemes\":{\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\"}},"
      "\"schemas\":{";
  bool first = true;
  for (const auto& [name, s] : schemas) {
    out += std::string(first ? "" : ",") + json_quote(name) + ":" + s;
    first = false;
  }
  out += "}},\"security\":[{\"bearer\":[]}],\"paths\":{";
  first = true;
  for (const auto& [pattern, ops] : paths) {
    out += std::string(first ? "" : ",") + json_quote(pattern) + ":{" + ops + "}";
    first = false;
  }
  out += "}}";
  return out;
}

}  // namespace enclave::http
