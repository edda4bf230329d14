// The files API (issue 20): upload, download, list, stat, remove, mkdir and move in a running
// interactive session's /home/user, and a batch session's collected artifacts. Paths are checked
// as text (events/requests/file_path.h), then every operation runs beneath the session's working
// directory fd (backends/session_files.h). Uploads are streamed to the file as they arrive and
// downloads read from it a chunk at a time: neither is held in memory whole. Every upload is
// recorded as file_written and every download as file_read before its answer goes out.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "actors/engine.h"
#include "http/request.h"
#include "http/routes.h"

namespace enclave::http {

struct FilesOptions {
  uint64_t max_upload_bytes = 100ull << 20;  // --max-upload-mb
};

struct FilesCall {
  RouteId route;
  std::string id;     // the session id (checked shape)
  std::string query;  // the raw query string (path=…, depth=…)
  std::string body;   // JSON (mkdir, move) or a small raw upload not streamed
  Principal principal;
  std::shared_ptr<BodyChannel> body_channel;  // PUT: the streamed body
};

// Answers one files route with `engine` (the caller holds it alive meanwhile); an upload's end,
// later, reaches the engine through `engine_later`, null once the server is shutting down.
void handle_files(Engine& engine, std::function<Engine*()> engine_later,
                  const FilesOptions& options, FilesCall call, Reply reply);

}  // namespace enclave::http
