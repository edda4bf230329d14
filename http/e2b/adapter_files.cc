// The E2B adapter's envd filesystem calls (GET/POST /files, filesystem.Filesystem/*) and
// WatchDir: the session's /home/user through the engine (envd_files.h, envd_watch.h).
#include <google/protobuf/struct.pb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "backends/session_files.h"
#include "events/requests/session_request.h"
#include "http/auth.h"
#include "http/e2b/access_token.h"
#include "http/e2b/adapter.h"
#include "http/e2b/adapter_call.h"
#include "http/e2b/adapter_replies.h"
#include "http/e2b/connect_stream.h"
#include "http/e2b/e2b.pb.h"
#include "http/e2b/envd_files.h"
#include "http/e2b/kernel_code.h"
#include "http/e2b/ndjson.h"
#include "http/e2b/routes.h"
#include "http/e2b/turn_answer.h"
#include "http/e2b/wire_error.h"
#include "http/json_io.h"
#include "http/query.h"
#include "http/routes.h"

namespace enclave::http::e2b {

void Adapter::sandbox_files(Request req, Endpoint endpoint, const std::string& rpc, Reply reply) {
  const bool is_rpc = endpoint == Endpoint::kFilesystemRpc;
  auto found = sandbox_call(req);
  if (!found) {
    if (is_rpc) return reply(connect_error(found.error()));
    // 502 is what E2B answers for a sandbox that is gone; the SDK calls it a timeout.
    if (found.error().reason == "sandbox_not_running") {
      return reply(json_response(
          502, "{\"code\":502,\"message\":" + json_quote(found.error().message) + "}"));
    }
    return reply(envd_error(found.error()));
  }
  EnvdFilesCall call;
  call.principal = (*found)->principal;
  call.sandbox_id = (*found)->sandbox_id;
  call.max_upload_bytes = options_.max_upload_bytes;
  call.engine_later = [this]() -> Engine* {
    std::shared_lock lock(mu_);
    return engine_;
  };
  std::shared_lock lock(mu_);
  if (!engine_) return reply(is_rpc ? connect_error(unavailable()) : envd_error(unavailable()));
  auto target = split_target(req.target);
  switch (endpoint) {
    case Endpoint::kReadFile:
      return read_file(*engine_, call, target.query, std::move(reply));
    case Endpoint::kWriteFiles:
      return write_files(*engine_, std::move(call), std::move(req), std::move(reply));
    default:
      return filesystem_rpc(*engine_, call, rpc, req.body, std::move(reply));
  }
}

void Adapter::watch_dir(const Request& req, Reply reply) {
  auto rpc_error = [&reply](const Error& e) { reply(connect_end_stream(e)); };
  auto found = sandbox_call(req);
  if (!found) return rpc_error(found.error());
  auto payload = connect::decode_request(req.body);
  if (!payload) return rpc_error(payload.error());
  wire::WatchDirRequest w;
  if (auto err = parse_json_object(*payload, &w)) return rpc_error(*err);
  if (w.recursive())
    return reply([] {
      Response r;
      r.content_type = std::string(connect::kContentType);
      r.body = connect::end_stream("unimplemented", "recursive watching is not offered");
      return r;
    }());
  auto path = sandbox_path(w.path(), "path");
  if (!path) return rpc_error(path.error());
  std::shared_ptr<backends::files::Fd> root;
  {
    std::shared_lock lock(mu_);
    if (!engine_) return rpc_error(unavailable());
    auto dir = engine_->session_workdir((*found)->principal, (*found)->sandbox_id, false);
    if (!dir) return rpc_error(dir.error());
    auto fd = backends::files::open_root(*dir);
    if (!fd) return rpc_error(fd.error());
    root = std::make_shared<backends::files::Fd>(std::move(*fd));
  }
  // The directory is checked now, so that a bad path is an error, not an empty stream.
  if (auto d = backends::files::open_dir(root->get(), *path); !d) return rpc_error(d.error());
  auto source = std::make_shared<StreamSource>();
  source->framing = StreamSource::Framing::kChunked;
  source->content_type = std::string(connect::kContentType);
  source->subscribe = [this, root, p = *path](std::function<void(std::string, bool)> emit) {
    return watches_.start(root->get(), p, std::move(emit));
  };
  source->unsubscribe = [this](uint64_t id) { watches_.stop(id); };
  Response r;
  r.stream = std::move(source);
  reply(std::move(r));
}

}  // namespace enclave::http::e2b
