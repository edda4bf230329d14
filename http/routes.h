// The HTTP API's route table: one list that both the router and the OpenAPI document are built
// from, so the two can never disagree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace enclave::http {

enum class RouteId {
  kCreateSession,
  kListSessions,
  kGetSession,
  kGetResult,
  kExec,
  kGetAudit,
  kSessionEvents,
  kTeardownSession,
  kCreateFleet,
  kListFleets,
  kGetFleet,
  kTeardownFleet,
  kHealthz,
  kMetrics,
  kOpenApi,
  kUi,
  kUiAsset,
  kFleetEvents,
  kCreateKey,
  kListKeys,
  kRevokeKey,
  kLogPublicKey,
  kLogSth,
  kLogConsistency,
  kPauseSession,
  kResumeSession,
  kForkSession,
  kSetSecret,
  kListSecrets,
  kDeleteSecret,
  // Files in and out (issue 20; http/files_api.h)
  kPutFile,
  kGetFile,
  kDeleteFile,
  kListFiles,
  kStatFile,
  kMakeDir,
  kMoveFile,
  kListArtifacts,
  kGetArtifact,
  kListImages,
};

struct Route {
  RouteId id;
  std::string_view method;   // "GET", "POST", "DELETE"
  std::string_view pattern;  // "/v1/sessions/{id}/exec"; `{id}` is a 32-char lowercase hex id,
                             // `{asset}` one file name of the dashboard (e.g. "app.js"),
                             // `{keyId}` an API key's id (is_key_id), `{name}` a
                             // secret's name (secrets::valid_name)
  std::string_view operation_id;
  std::string_view summary;
  bool needs_auth;                   // false: answered without an API key
  int success_status;                // 200 or 201
  std::string_view request_schema;   // api.proto message name, or empty (no body)
  std::string_view response_schema;  // api.proto message name, or empty (not JSON / special)
  std::string_view response_type;    // content type of the success answer
};

// Every route the server answers.
const std::vector<Route>& routes();

// An error status a route answers besides bad input, with its `error.code`, for the OpenAPI
// document (storage bounds, issue 17).
struct RouteError {
  int status;
  std::string_view code;
  std::string_view description;
};
// The storage refusals of a route: new sessions, fleets and turns get 429 quota_exceeded (the
// org's stored bytes are at its quota), 503 log_unavailable (the event log cannot take writes;
// Retry-After) and 507 insufficient_storage (the data disk is below --min-free-disk-mb);
// healthz answers 503 while degraded.
std::vector<RouteError> route_errors(RouteId id);

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed } kind = Kind::kNotFound;
  const Route* route = nullptr;  // kFound
  std::string id;                // the `{…}` segment, as sent (not yet validated)
  std::string allow;             // kMethodNotAllowed: e.g. "GET, DELETE"
};

// Matches a request path (no query string) and method against the table.
RouteMatch match_route(std::string_view method, std::string_view path);

// Whether a request's body is streamed to its handler rather than read whole under the 1 MiB
// body limit: PUT /v1/sessions/{id}/files (uploads, bounded by --max-upload-mb).
bool streams_body(std::string_view method, std::string_view target);

// The files routes (they take `?path=` and answer from the session's working directory).
bool is_files_route(RouteId id);

// Whether `id` has the shape of an Enclave id: exactly 32 lowercase hex characters.
bool is_id(std::string_view id);

// Whether `id` has the shape of an API key id: 1..64 lowercase hex characters.
bool is_key_id(std::string_view id);

}  // namespace enclave::http
