#include "http/routes.h"

namespace enclave::http {

namespace {

constexpr std::string_view kJson = "application/json";

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  size_t pos = 1;
  while (true) {
    size_t next = path.find('/', pos);
    out.push_back(path.substr(pos, next == std::string_view::npos ? next : next - pos));
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  return out;
}

// Whether `path` fits `pattern`; the text of its one `{…}` segment goes to `id`.
bool path_matches(std::string_view pattern, std::string_view path, std::string* id) {
  auto want = split_path(pattern);
  auto got = split_path(path);
  if (want.size() != got.size() || got.empty()) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "{id}" || want[i] == "{asset}" || want[i] == "{keyId}" || want[i] == "{name}") {
      if (got[i].empty()) return false;
      *id = std::string(got[i]);
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

const std::vector<Route>& routes() {
  static const std::vector<Route> table = {
      {RouteId::kCreateSession, "POST", "/v1/sessions", "createSession",
       "Create a session (batch or interactive)", true, 201, "CreateSessionRequest", "Session",
       kJson},
      {RouteId::kListSessions, "GET", "/v1/sessions", "listSessions",
       "List the caller's org's sessions (query: fleetId, phase, limit, cursor)", true, 200, "",
       "SessionList", kJson},
      {RouteId::kGetSession, "GET", "/v1/sessions/{id}", "getSession", "Get a session", true, 200,
       "", "Session", kJson},
      {RouteId::kGetResult, "GET", "/v1/sessions/{id}/result", "getSessionResult",
       "Get a session's output and structured result", true, 200, "", "SessionResult", kJson},
      {RouteId::kExec, "POST", "/v1/sessions/{id}/exec", "execTurn",
       "Run one turn in an interactive session", true, 200, "ExecRequest", "ExecTurnResult", kJson},
      {RouteId::kPauseSession, "POST", "/v1/sessions/{id}/pause", "pauseSession",
       "Pause an interactive session: its sandbox is checkpointed and removed, its slot freed "
       "(docs/PAUSE.md)",
       true, 200, "", "Session", kJson},
      {RouteId::kResumeSession, "POST", "/v1/sessions/{id}/resume", "resumeSession",
       "Resume a paused session through admission; it runs again with its namespace", true, 200, "",
       "Session", kJson},
      {RouteId::kForkSession, "POST", "/v1/sessions/{id}/fork", "forkSession",
       "Fork an interactive session into count (1..100) new sessions from one checkpoint", true,
       201, "ForkRequest", "ForkResponse", kJson},
      {RouteId::kGetAudit, "GET", "/v1/sessions/{id}/audit", "getSessionAudit",
       "Get a session's audit trail and whether its hash chain verifies (chain). With "
       "?proof=true each event also has leafIndex, inclusionProof (hex, RFC 9162) and "
       "eventBytes (base64 of its stored bytes), and `sth` is the signed tree head they prove "
       "against (docs/FORENSICS.md)",
       true, 200, "", "AuditTrail", kJson},
      {RouteId::kSessionEvents, "GET", "/v1/sessions/{id}/events", "streamSessionEvents",
       "Server-Sent Events: audit events and output chunks until the session ends", true, 200, "",
       "", "text/event-stream"},
      {RouteId::kTeardownSession, "DELETE", "/v1/sessions/{id}", "teardownSession",
       "Tear a session down (idempotent)", true, 200, "", "Session", kJson},
      {RouteId::kCreateFleet, "POST", "/v1/fleets", "createFleet", "Create a fleet of sessions",
       true, 201, "CreateFleetRequest", "Fleet", kJson},
      {RouteId::kListFleets, "GET", "/v1/fleets", "listFleets", "List the caller's org's fleets",
       true, 200, "", "FleetList", kJson},
      {RouteId::kGetFleet, "GET", "/v1/fleets/{id}", "getFleet", "Get a fleet", true, 200, "",
       "Fleet", kJson},
      {RouteId::kFleetEvents, "GET", "/v1/fleets/{id}/events", "streamFleetEvents",
       "Server-Sent Events: `fleet` (the whole Fleet) once, then `members` (a Fleet whose members "
       "are only those whose phase changed, with fresh counts and phase) until the fleet ends",
       true, 200, "", "", "text/event-stream"},
      {RouteId::kTeardownFleet, "DELETE", "/v1/fleets/{id}", "teardownFleet",
       "Tear down every member of a fleet (idempotent)", true, 200, "", "Fleet", kJson},
      {RouteId::kListImages, "GET", "/v1/images", "listImages",
       "List the images sessions can run on (name, digest, size, languages); `image` in "
       "CreateSessionRequest names one",
       true, 200, "", "ImageList", kJson},
      {RouteId::kHealthz, "GET", "/v1/healthz", "healthz", "Liveness; no API key needed", false,
       200, "", "", kJson},
      {RouteId::kMetrics, "GET", "/metrics", "metrics",
       "Prometheus metrics (never per org); needs scope metrics:read or admin unless the server "
       "runs with --metrics-public",
       true, 200, "", "", "text/plain; version=0.0.4"},
      {RouteId::kCreateKey, "POST", "/v1/keys", "createKey",
       "Create an API key of the caller's org (scope admin); the answer is the only time its "
       "secret (`key`) is shown",
       true, 201, "CreateKeyRequest", "CreatedApiKey", kJson},
      {RouteId::kListKeys, "GET", "/v1/keys", "listKeys",
       "List the caller's org's API keys, revoked ones included, never a secret (scope admin)",
       true, 200, "", "ApiKeyList", kJson},
      {RouteId::kRevokeKey, "DELETE", "/v1/keys/{keyId}", "revokeKey",
       "Revoke an API key of the caller's org (scope admin; idempotent): refused at once, and so "
       "are the E2B access tokens minted under it",
       true, 200, "", "ApiKey", kJson},
      {RouteId::kSetSecret, "POST", "/v1/secrets", "setSecret",
       "Create or replace a secret of the caller's org (scope admin): the egress proxy injects it "
       "as `header` (`format`, {value} standing for it) into requests to `hosts` of sessions "
       "that name it; no answer ever carries the value",
       true, 201, "CreateSecretRequest", "Secret", kJson},
      {RouteId::kListSecrets, "GET", "/v1/secrets", "listSecrets",
       "List the caller's org's secrets: names, hosts and headers, never a value (scope admin)",
       true, 200, "", "SecretList", kJson},
      {RouteId::kDeleteSecret, "DELETE", "/v1/secrets/{name}", "deleteSecret",
       "Delete a secret of the caller's org (scope admin): no longer injected from the next "
       "request on",
       true, 200, "", "Secret", kJson},
      {RouteId::kOpenApi, "GET", "/v1/openapi.json", "openapi", "This document", false, 200, "", "",
       kJson},
      {RouteId::kUi, "GET", "/ui/", "dashboard", "The built-in dashboard (HTML)", false, 200, "",
       "", "text/html; charset=utf-8"},
      {RouteId::kUiAsset, "GET", "/ui/{asset}", "dashboardAsset",
       "A static file of the dashboard (script, style sheet); no API key needed", false, 200, "",
       "", "application/octet-stream"},
      {RouteId::kLogPublicKey, "GET", "/v1/log/public-key", "getLogPublicKey",
       "The Ed25519 public key that signs tree heads (PEM); 404 signing_key_not_configured "
       "without --signing-key",
       true, 200, "", "", "application/x-pem-file"},
      {RouteId::kLogSth, "GET", "/v1/log/sth", "getLogSth",
       "The latest signed tree head {treeSize, rootHash, timestamp, keyId, signature} "
       "(docs/FORENSICS.md)",
       true, 200, "", "", kJson},
      {RouteId::kLogConsistency, "GET", "/v1/log/consistency", "getLogConsistency",
       "RFC 9162 consistency proof between tree sizes (query: first, second) → {proof:[hex]}", true,
       200, "", "", kJson},
      {RouteId::kPutFile, "PUT", "/v1/sessions/{id}/files", "writeFile",
       "Write a file into a running interactive session (query: path under /home/user; the raw "
       "body, streamed, up to --max-upload-mb; parent dirs created) → {path, size, sha256}",
       true, 201, "", "FileWriteResult", kJson},
      {RouteId::kGetFile, "GET", "/v1/sessions/{id}/files", "readFile",
       "Read a file of a running interactive session (query: path): its bytes", true, 200, "", "",
       "application/octet-stream"},
      {RouteId::kDeleteFile, "DELETE", "/v1/sessions/{id}/files", "removeFile",
       "Remove a file, a symlink (never what it points to) or a directory tree (query: path)", true,
       200, "", "FileEntry", kJson},
      {RouteId::kListFiles, "GET", "/v1/sessions/{id}/files/list", "listFiles",
       "List a directory (query: path, depth 1..8, default 1); symlinks are listed, never "
       "followed",
       true, 200, "", "FileList", kJson},
      {RouteId::kStatFile, "GET", "/v1/sessions/{id}/files/stat", "statFile",
       "What is at a path (query: path): 404 not_found if nothing", true, 200, "", "FileEntry",
       kJson},
      {RouteId::kMakeDir, "POST", "/v1/sessions/{id}/files/mkdir", "makeDir",
       "Create a directory and its parents; 409 already_exists if it exists", true, 201,
       "MkdirRequest", "FileEntry", kJson},
      {RouteId::kMoveFile, "POST", "/v1/sessions/{id}/files/move", "moveFile",
       "Rename a file or directory (a file at `to` is replaced)", true, 200, "MoveRequest",
       "FileEntry", kJson},
      {RouteId::kListArtifacts, "GET", "/v1/sessions/{id}/artifacts", "listArtifacts",
       "A batch session's collected artifacts (its request's `artifacts` globs, read when the run "
       "ended)",
       true, 200, "", "ArtifactList", kJson},
      {RouteId::kGetArtifact, "GET", "/v1/sessions/{id}/artifacts/content", "getArtifact",
       "One collected artifact's bytes (query: path, as listed)", true, 200, "", "",
       "application/octet-stream"},
  };
  return table;
}

std::vector<RouteError> route_errors(RouteId id) {
  static const RouteError quota{429, "quota_exceeded",
                                "the org's stored event-log bytes are at its storage quota "
                                "(--org-storage-mb); the message names both figures"};
  static const RouteError log{503, "log_unavailable",
                              "the event log cannot take writes (see /v1/healthz); Retry-After "
                              "says when to try again; nothing acknowledged is lost"};
  static const RouteError disk{507, "insufficient_storage",
                               "the server's data disk is below its free-space floor "
                               "(--min-free-disk-mb)"};
  switch (id) {
    case RouteId::kCreateSession:
    case RouteId::kCreateFleet:
    case RouteId::kExec:
    case RouteId::kResumeSession:
      return {quota, log, disk};
    case RouteId::kPauseSession:
      return {
          {501, "not_supported_on_backend", "the backend cannot checkpoint sandboxes (kubernetes)"},
          {409, "session_busy", "a turn is running; pause when it is done"}};
    case RouteId::kForkSession:
      return {
          {501, "not_supported_on_backend", "the backend cannot checkpoint sandboxes (kubernetes)"},
          quota,
          log,
          disk};
    case RouteId::kHealthz:
      return {{503, "degraded",
               "{status: \"degraded\", reason: \"log_unwritable\", detail} while the event log "
               "cannot take writes; ok again by itself when it can"}};
    default:
      return {};
  }
}

RouteMatch match_route(std::string_view method, std::string_view path) {
  RouteMatch m;
  for (const auto& r : routes()) {
    std::string id;
    if (!path_matches(r.pattern, path, &id)) continue;
    if (r.method == method) {
      m.kind = RouteMatch::Kind::kFound;
      m.route = &r;
      m.id = std::move(id);
      m.allow.clear();
      return m;
    }
    m.kind = RouteMatch::Kind::kMethodNotAllowed;
    if (m.allow.find(r.method) == std::string::npos) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += r.method;
    }
  }
  return m;
}

bool streams_body(std::string_view method, std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  auto m = match_route(method, path);
  return m.kind == RouteMatch::Kind::kFound && m.route->id == RouteId::kPutFile;
}

bool is_files_route(RouteId id) {
  switch (id) {
    case RouteId::kPutFile:
    case RouteId::kGetFile:
    case RouteId::kDeleteFile:
    case RouteId::kListFiles:
    case RouteId::kStatFile:
    case RouteId::kMakeDir:
    case RouteId::kMoveFile:
    case RouteId::kListArtifacts:
    case RouteId::kGetArtifact:
      return true;
    default:
      return false;
  }
}

bool is_id(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_key_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace enclave::http
