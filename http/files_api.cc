#include "http/files_api.h"

#include <fcntl.h>
#include <unistd.h>

#include "backends/session_files.h"
#include "events/api.pb.h"
#include "events/clock.h"
#include "events/requests/file_path.h"
#include "http/json_io.h"
#include "http/query.h"

namespace enclave::http {

namespace {

namespace sf = backends::files;
using files::SessionPath;

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response error_response(const Error& e) {
  Response r = json_response(http_status(e.code), error_json(e));
  if (e.retry_after_s > 0) r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s));
  return r;
}

Error unavailable() {
  return make_error(ErrorCode::kUnavailable, "unavailable", "the server is shutting down");
}

api::FileEntry entry_json(const sf::Entry& e) {
  api::FileEntry out;
  out.set_name(e.name);
  out.set_path(e.path);
  out.set_type(e.type);
  out.set_size(static_cast<double>(e.size));
  out.set_mode(e.mode);
  out.set_modified_at(rfc3339(e.modified_ms));
  return out;
}

// The `path` query parameter (or `name`), checked.
Result<SessionPath> query_path(const std::map<std::string, std::string>& q,
                               const std::string& name = "path") {
  auto it = q.find(name);
  if (it == q.end())
    return make_error(ErrorCode::kInvalidArgument, "path_forbidden",
                      "the query parameter " + name + " is required", name);
  return files::parse_session_path(it->second, name);
}

// The session's working directory, opened: the root of every operation below.
Result<sf::Fd> open_workdir(Engine& e, const FilesCall& c, bool write) {
  auto dir = e.session_workdir(c.principal, c.id, write);
  if (!dir) return dir.error();
  return sf::open_root(*dir);
}

// Streams an upload's body into its file; commits, records file_written, then answers.
class UploadSink : public BodySink {
 public:
  UploadSink(std::function<Engine*()> engine, FilesCall call, sf::Fd root, SessionPath path,
             std::unique_ptr<sf::Upload> upload, Reply reply)
      : engine_(std::move(engine)),
        call_(std::move(call)),
        root_(std::move(root)),
        path_(std::move(path)),
        upload_(std::move(upload)),
        reply_(std::move(reply)) {}

  std::optional<Error> write(const char* data, size_t n) override {
    return upload_->write(data, n);
  }

  void finish(std::optional<Error> failed) override {
    if (failed) return done(error_response(*failed));  // the temporary file goes with upload_
    auto facts = upload_->commit();
    upload_.reset();
    if (!facts) return done(error_response(facts.error()));
    Engine* e = engine_();
    if (!e) return done(error_response(unavailable()));
    events::FileWritten w;
    w.set_path(path_.display());
    w.set_size(facts->size);
    w.set_sha256(facts->sha256);
    w.set_via("api");
    api::FileWriteResult out;
    out.set_path(w.path());
    out.set_size(static_cast<double>(w.size()));
    out.set_sha256(w.sha256());
    // The reply holds the root fd until the record is durable: an unrecorded write is undone.
    auto root = std::make_shared<sf::Fd>(std::move(root_));
    e->record_file(call_.principal, call_.id, std::move(w),
                   [reply = reply_, out, root, path = path_](Result<bool> r) {
                     if (!r) {
                       (void)sf::remove_path(root->get(), path);
                       return reply(error_response(r.error()));
                     }
                     reply(json_response(201, to_json(out)));
                   });
  }

 private:
  void done(Response r) { reply_(std::move(r)); }

  std::function<Engine*()> engine_;
  FilesCall call_;
  sf::Fd root_;
  SessionPath path_;
  std::unique_ptr<sf::Upload> upload_;
  Reply reply_;
};

void put_file(const std::function<Engine*()>& engine_now, Engine& e, const FilesOptions& o,
              FilesCall c, const SessionPath& path, Reply reply) {
  auto root = open_workdir(e, c, true);
  if (!root) return reply(error_response(root.error()));
  auto upload = sf::Upload::begin(root->get(), path, o.max_upload_bytes);
  if (!upload) return reply(error_response(upload.error()));
  auto channel = std::move(c.body_channel);
  std::string small = std::move(c.body);
  auto sink = std::make_shared<UploadSink>(engine_now, std::move(c), std::move(*root), path,
                                           std::move(*upload), std::move(reply));
  if (channel) return channel->start(std::move(sink));
  // Not streamed (a server without stream_body): the body already arrived whole, bounded.
  auto err = sink->write(small.data(), small.size());
  sink->finish(std::move(err));
}

void get_file(Engine& e, const FilesCall& c, const SessionPath& path, Reply reply) {
  auto root = open_workdir(e, c, false);
  if (!root) return reply(error_response(root.error()));
  auto f = sf::open_file(root->get(), path);
  if (!f) return reply(error_response(f.error()));
  auto body = std::make_shared<FileBody>(f->fd.release(), f->size);
  events::FileRead r;
  r.set_path(path.display());
  r.set_size(f->size);
  // Recorded before a byte leaves: the log always knows what was read out.
  e.record_file(c.principal, c.id, std::move(r), [reply, body](Result<bool> ok) {
    if (!ok) return reply(error_response(ok.error()));
    Response out;
    out.content_type = "application/octet-stream";
    out.file = body;
    reply(std::move(out));
  });
}

}  // namespace

void handle_files(Engine& e, std::function<Engine*()> engine_now, const FilesOptions& options,
                  FilesCall c, Reply reply) {
  auto q = parse_query(c.query);
  if (!q) return reply(error_response(q.error()));

  switch (c.route) {
    case RouteId::kPutFile: {
      auto path = query_path(*q);
      if (!path) return reply(error_response(path.error()));
      return put_file(engine_now, e, options, std::move(c), *path, std::move(reply));
    }
    case RouteId::kGetFile: {
      auto path = query_path(*q);
      if (!path) return reply(error_response(path.error()));
      return get_file(e, c, *path, std::move(reply));
    }
    case RouteId::kListFiles:
    case RouteId::kStatFile:
    case RouteId::kDeleteFile: {
      auto path = query_path(*q);
      if (!path) return reply(error_response(path.error()));
      const bool write = c.route == RouteId::kDeleteFile;
      auto root = open_workdir(e, c, write);
      if (!root) return reply(error_response(root.error()));
      if (c.route == RouteId::kStatFile) {
        auto st = sf::stat_path(root->get(), *path);
        if (!st) return reply(error_response(st.error()));
        return reply(json_response(200, to_json(entry_json(*st))));
      }
      if (c.route == RouteId::kDeleteFile) {
        auto st = sf::stat_path(root->get(), *path);
        if (!st) return reply(error_response(st.error()));
        if (auto err = sf::remove_path(root->get(), *path)) return reply(error_response(*err));
        return reply(json_response(200, to_json(entry_json(*st))));
      }
      int depth = 1;
      if (auto d = q->find("depth"); d != q->end()) {
        try {
          size_t used = 0;
          depth = std::stoi(d->second, &used);
          if (used != d->second.size()) depth = 0;
        } catch (...) {
          depth = 0;
        }
      }
      auto l = sf::list_dir(root->get(), *path, depth);
      if (!l) return reply(error_response(l.error()));
      api::FileList out;
      for (const auto& en : l->entries) *out.add_entries() = entry_json(en);
      out.set_truncated(l->truncated);
      return reply(json_response(200, to_json(out)));
    }
    case RouteId::kMakeDir:
    case RouteId::kMoveFile: {
      auto root = open_workdir(e, c, true);
      if (!root) return reply(error_response(root.error()));
      if (c.route == RouteId::kMakeDir) {
        api::MkdirRequest req;
        if (auto err = parse_json_object(c.body, &req)) return reply(error_response(*err));
        auto path = files::parse_session_path(req.path(), "path");
        if (!path) return reply(error_response(path.error()));
        if (auto err = sf::make_dir(root->get(), *path)) return reply(error_response(*err));
        auto st = sf::stat_path(root->get(), *path);
        if (!st) return reply(error_response(st.error()));
        return reply(json_response(201, to_json(entry_json(*st))));
      }
      api::MoveRequest req;
      if (auto err = parse_json_object(c.body, &req)) return reply(error_response(*err));
      auto from = files::parse_session_path(req.from(), "from");
      if (!from) return reply(error_response(from.error()));
      auto to = files::parse_session_path(req.to(), "to");
      if (!to) return reply(error_response(to.error()));
      if (auto err = sf::move_path(root->get(), *from, *to)) return reply(error_response(*err));
      auto st = sf::stat_path(root->get(), *to);
      if (!st) return reply(error_response(st.error()));
      return reply(json_response(200, to_json(entry_json(*st))));
    }
    case RouteId::kListArtifacts:
    case RouteId::kGetArtifact: {
      auto arts = e.artifacts(c.principal, c.id);
      if (!arts) return reply(error_response(arts.error()));
      if (c.route == RouteId::kListArtifacts) {
        api::ArtifactList out;
        for (const auto& a : *arts) {
          auto* x = out.add_artifacts();
          x->set_path(a.path());
          x->set_size(static_cast<double>(a.size()));
          x->set_sha256(a.sha256());
        }
        return reply(json_response(200, to_json(out)));
      }
      auto path = query_path(*q);
      if (!path) return reply(error_response(path.error()));
      for (const auto& a : *arts) {
        if (a.path() != path->display()) continue;
        Response r = json_response(200, a.content());
        r.content_type = "application/octet-stream";
        return reply(std::move(r));
      }
      return reply(error_response(make_error(ErrorCode::kNotFound, "not_found",
                                             "no such artifact: " + path->display(), "path")));
    }
    default:
      return reply(
          error_response(make_error(ErrorCode::kInternal, "internal", "not a files route")));
  }
}

}  // namespace enclave::http
