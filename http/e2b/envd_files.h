// envd's filesystem API as the E2B SDKs call it (`sbx.files.*`), answered with the sandbox's
// working directory — the same /home/user the native files API (http/files_api.h) and the
// workload see, so `commands.run` and `runCode` see what `files.write` wrote:
//   GET  /files?path=P                       the file's bytes (read: text, bytes, blob, stream)
//   POST /files[?path=P]                     write: multipart/form-data (`file` parts, the
//                                            filename the path when no `path`) or a raw
//                                            application/octet-stream body; streamed, never whole
//   POST /filesystem.Filesystem/{Stat, ListDir, MakeDir, Move, Remove}   Connect unary, JSON
// Paths are E2B's: absolute, `~/…`, or relative to /home/user; then the native path rules apply
// (events/requests/file_path.h) and every operation runs beneath the working directory's fd
// (backends/session_files.h). Every write is recorded as file_written {via: "e2b"} and every read
// as file_read before the answer goes out. The caller has checked the sandbox's access token and
// that it runs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "actors/engine.h"
#include "http/request.h"

namespace enclave::http::e2b {

// One call to the sandbox's files.
struct EnvdFilesCall {
  Principal principal;
  std::string sandbox_id;
  uint64_t max_upload_bytes = 100ull << 20;  // per request, all parts together
  // The engine when a streamed upload ends (null once the server is shutting down).
  std::function<Engine*()> engine_later;
};

// GET /files. `query` is the raw query string.
void read_file(Engine& engine, const EnvdFilesCall& call, std::string_view query, Reply reply);

// POST /files: `req` carries the query, Content-Type and the body (streamed via body_channel, or
// whole in `body` when the server did not stream it). Answers 200 [{name, type: "file", path}].
void write_files(Engine& engine, EnvdFilesCall call, Request req, Reply reply);

// POST /filesystem.Filesystem/<method> with a unary Connect JSON body. `method` is one of
// Stat, ListDir, MakeDir, Move, Remove (routes.h); errors answer Connect's JSON error.
void filesystem_rpc(Engine& engine, const EnvdFilesCall& call, std::string_view method,
                    std::string_view body, Reply reply);

// envd's REST error body: {"code": <status>, "message": …}.
Response envd_error(const Error& e);
// A Connect unary error: Connect's status and {"code": "not_found", "message": …}.
Response connect_error(const Error& e);

}  // namespace enclave::http::e2b
