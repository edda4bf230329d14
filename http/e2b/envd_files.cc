#include "http/e2b/envd_files.h"

#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "backends/session_files.h"
#include "http/e2b/connect_stream.h"
#include "http/e2b/e2b.pb.h"
#include "http/e2b/multipart.h"
#include "http/e2b/requests.h"
#include "http/json_io.h"
#include "http/query.h"

namespace enclave::http::e2b {

namespace sf = backends::files;
using files::SessionPath;

namespace {

constexpr std::string_view kVia = "e2b";

Error unavailable() {
  return make_error(ErrorCode::kUnavailable, "unavailable", "the server is shutting down");
}

// Connect's HTTP status for an error code (connectrpc.com/docs/protocol, "Error codes").
int connect_status(std::string_view code) {
  if (code == "invalid_argument" || code == "failed_precondition" || code == "out_of_range")
    return 400;
  if (code == "unauthenticated") return 401;
  if (code == "permission_denied") return 403;
  if (code == "not_found") return 404;
  if (code == "already_exists" || code == "aborted") return 409;
  if (code == "resource_exhausted") return 429;
  if (code == "unimplemented") return 501;
  if (code == "unavailable") return 503;
  return 500;
}

}  // namespace

Response connect_error(const Error& e) {
  // The SDK tells "exists already" (makeDir → false) by Connect's code, not by our reason.
  std::string code =
      e.reason == "already_exists" ? "already_exists" : std::string(connect::code_name(e.code));
  Response r;
  r.status = connect_status(code);
  r.body = "{\"code\":" + json_quote(code) + ",\"message\":" + json_quote(e.message) + "}";
  return r;
}

namespace {

Response rpc_ok(const google::protobuf::Message& m) {
  Response r;
  r.body = to_json(m);
  return r;
}

std::string permissions(const sf::Entry& e) {
  std::string out = e.type == "dir" ? "d" : e.type == "symlink" ? "l" : "-";
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) out += (e.mode & (0400u >> i)) ? rwx[i] : '-';
  return out;
}

wire::EntryInfo entry_info(const sf::Entry& e) {
  wire::EntryInfo out;
  out.set_name(e.name);
  out.set_path(e.path);
  out.set_type(e.type == "dir"       ? wire::FILE_TYPE_DIRECTORY
               : e.type == "symlink" ? wire::FILE_TYPE_SYMLINK
               : e.type == "file"    ? wire::FILE_TYPE_FILE
                                     : wire::FILE_TYPE_UNSPECIFIED);
  out.set_size(static_cast<int64_t>(e.size));
  out.set_mode(e.mode);
  out.set_permissions(permissions(e));
  // Every file of a session belongs to its one unprivileged user, E2B's "user".
  out.set_owner("user");
  out.set_group("user");
  out.mutable_modified_time()->set_seconds(e.modified_ms / 1000);
  out.mutable_modified_time()->set_nanos(static_cast<int32_t>(e.modified_ms % 1000) * 1000000);
  return out;
}

Result<sf::Fd> open_workdir(Engine& e, const EnvdFilesCall& c, bool write) {
  auto dir = e.session_workdir(c.principal, c.sandbox_id, write);
  if (!dir) return dir.error();
  return sf::open_root(*dir);
}

Result<SessionPath> query_path(std::string_view query, bool required) {
  auto q = parse_query(query);
  if (!q) return q.error();
  auto it = q->find("path");
  if (it == q->end()) {
    if (required)
      return make_error(ErrorCode::kInvalidArgument, "path_forbidden",
                        "the query parameter path is required", "path");
    return SessionPath{};
  }
  return sandbox_path(it->second, "path");
}

// The JSON envd answers a write with: one {name, type, path} per file written.
std::string written_json(const std::vector<SessionPath>& paths) {
  std::string out = "[";
  for (const auto& p : paths) {
    if (out.size() > 1) out += ',';
    std::string name = p.is_root() ? "user" : p.components.back();
    out += "{\"name\":" + json_quote(name) +
           ",\"type\":\"file\",\"path\":" + json_quote(p.display()) + "}";
  }
  return out + "]";
}

// Streams a write's body into its file(s), then records each file written (in order) and answers.
class WriteSink : public BodySink, public std::enable_shared_from_this<WriteSink> {
 public:
  WriteSink(EnvdFilesCall call, sf::Fd root, std::optional<SessionPath> path, Reply reply)
      : call_(std::move(call)),
        root_(std::make_shared<sf::Fd>(std::move(root))),
        path_(std::move(path)),
        left_(call_.max_upload_bytes),
        reply_(std::move(reply)) {}

  // A raw body: its one file is opened now, so a bad target answers before a byte is read.
  std::optional<Error> begin_raw() {
    if (auto e = open(*path_)) return e;
    raw_ = true;
    return std::nullopt;
  }

  void begin_multipart(std::string boundary) {
    reader_.emplace(std::move(boundary),
                    multipart::Sinks{[this](const multipart::PartHead& h) { return part(h); },
                                     [this](const char* d, size_t n) { return data(d, n); },
                                     [this] { return part_end(); }});
  }

  std::optional<Error> write(const char* d, size_t n) override {
    if (raw_) return data(d, n);
    return reader_->feed(d, n);
  }

  void finish(std::optional<Error> failed) override {
    if (!failed) failed = raw_ ? part_end() : reader_->finish();
    upload_.reset();  // an unfinished file is removed
    if (!failed && written_.empty())
      failed = make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                          "the upload holds no `file` part", "body");
    failure_ = std::move(failed);
    record_next(0);
  }

 private:
  struct Written {
    SessionPath path;
    sf::FileFacts facts;
  };

  std::optional<Error> open(const SessionPath& p) {
    if (!seen_.insert(p.display()).second)
      return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                        "one upload names " + p.display() + " twice", "path");
    auto up = sf::Upload::begin(root_->get(), p, left_);
    if (!up) return up.error();
    upload_ = std::move(*up);
    current_ = p;
    return std::nullopt;
  }

  std::optional<Error> part(const multipart::PartHead& h) {
    skipping_ = h.name != "file";  // envd ignores other form fields
    if (skipping_) return std::nullopt;
    if (path_ && !path_->is_root()) return open(*path_);
    if (!h.has_filename)
      return make_error(ErrorCode::kInvalidArgument, "path_forbidden",
                        "a `file` part names no filename and the request no path", "path");
    auto p = sandbox_path(h.filename, "path");
    if (!p) return p.error();
    return open(*p);
  }

  std::optional<Error> data(const char* d, size_t n) {
    if (skipping_) return std::nullopt;
    if (n > left_)
      return make_error(ErrorCode::kTooLarge, "too_large",
                        "the upload is larger than the server's --max-upload-mb");
    left_ -= n;
    return upload_->write(d, n);
  }

  std::optional<Error> part_end() {
    if (skipping_ || !upload_) return std::nullopt;
    auto facts = upload_->commit();
    upload_.reset();
    if (!facts) return facts.error();
    written_.push_back(Written{current_, *facts});
    return std::nullopt;
  }

  // Records written_[i…] one after another (the log keeps their order), then answers. A file
  // whose record fails is removed: nothing stays in the sandbox that the log does not know.
  void record_next(size_t i) {
    if (i == written_.size()) return answer();
    Engine* e = call_.engine_later();
    if (!e) {
      for (size_t k = i; k < written_.size(); ++k)
        (void)sf::remove_path(root_->get(), written_[k].path);
      written_.resize(i);
      if (!failure_) failure_ = unavailable();
      return answer();
    }
    events::FileWritten w;
    w.set_path(written_[i].path.display());
    w.set_size(written_[i].facts.size);
    w.set_sha256(written_[i].facts.sha256);
    w.set_via(std::string(kVia));
    e->record_file(call_.principal, call_.sandbox_id, std::move(w),
                   [self = shared_from_this(), i](Result<bool> r) {
                     if (!r) {
                       for (size_t k = i; k < self->written_.size(); ++k)
                         (void)sf::remove_path(self->root_->get(), self->written_[k].path);
                       self->written_.resize(i);
                       if (!self->failure_) self->failure_ = r.error();
                       return self->answer();
                     }
                     self->record_next(i + 1);
                   });
  }

  void answer() {
    if (failure_) return reply_(envd_error(*failure_));
    std::vector<SessionPath> paths;
    for (const auto& w : written_) paths.push_back(w.path);
    Response r;
    r.body = written_json(paths);
    reply_(std::move(r));
  }

  EnvdFilesCall call_;
  std::shared_ptr<sf::Fd> root_;
  std::optional<SessionPath> path_;  // the query's path, if any
  uint64_t left_;                    // bytes the rest of the request may still write
  Reply reply_;
  bool raw_ = false;
  std::optional<multipart::Reader> reader_;
  bool skipping_ = false;
  std::unique_ptr<sf::Upload> upload_;
  SessionPath current_;
  std::set<std::string> seen_;
  std::vector<Written> written_;
  std::optional<Error> failure_;
};

}  // namespace

Response envd_error(const Error& e) {
  int status = http_status(e.code);
  // envd answers a wrong kind of file (a directory read as a file, …) with 400.
  if (e.code == ErrorCode::kConflict) status = 400;
  Response r;
  r.status = status;
  r.body = "{\"code\":" + std::to_string(status) + ",\"message\":" + json_quote(e.message) + "}";
  return r;
}

void read_file(Engine& e, const EnvdFilesCall& c, std::string_view query, Reply reply) {
  auto path = query_path(query, true);
  if (!path) return reply(envd_error(path.error()));
  auto root = open_workdir(e, c, false);
  if (!root) return reply(envd_error(root.error()));
  auto f = sf::open_file(root->get(), *path);
  if (!f) return reply(envd_error(f.error()));
  auto body = std::make_shared<FileBody>(f->fd.release(), f->size);
  events::FileRead r;
  r.set_path(path->display());
  r.set_size(f->size);
  // Recorded before a byte leaves: the log always knows what was read out.
  e.record_file(c.principal, c.sandbox_id, std::move(r), [reply, body](Result<bool> ok) {
    if (!ok) return reply(envd_error(ok.error()));
    Response out;
    out.content_type = "application/octet-stream";
    out.file = body;
    reply(std::move(out));
  });
}

void write_files(Engine& e, EnvdFilesCall c, Request req, Reply reply) {
  auto target_query = req.target.find('?') == std::string::npos
                          ? std::string_view()
                          : std::string_view(req.target).substr(req.target.find('?') + 1);
  auto q = parse_query(target_query);
  if (!q) return reply(envd_error(q.error()));
  std::optional<SessionPath> path;
  if (q->count("path")) {
    auto p = sandbox_path(q->at("path"), "path");
    if (!p) return reply(envd_error(p.error()));
    path = *p;
  }
  if (!req.content_encoding.empty() && req.content_encoding != "identity")
    return reply(envd_error(make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                                       "Content-Encoding " + req.content_encoding.substr(0, 40) +
                                           " is not supported: send the bytes uncompressed",
                                       "Content-Encoding")));
  auto root = open_workdir(e, c, true);
  if (!root) return reply(envd_error(root.error()));
  std::string media = req.content_type.substr(0, req.content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (auto& ch : media) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto sink = std::make_shared<WriteSink>(std::move(c), std::move(*root), path, reply);
  if (media == "application/octet-stream") {
    if (!path)
      return reply(envd_error(make_error(ErrorCode::kInvalidArgument, "path_forbidden",
                                         "a raw upload needs the query parameter path", "path")));
    if (auto err = sink->begin_raw()) return reply(envd_error(*err));
  } else {
    auto boundary = multipart::boundary_of(req.content_type);
    if (!boundary) return reply(envd_error(boundary.error()));
    sink->begin_multipart(std::move(*boundary));
  }
  if (req.body_channel) return req.body_channel->start(std::move(sink));
  // Not streamed (the server read it whole, bounded by its body limit).
  auto err = sink->write(req.body.data(), req.body.size());
  sink->finish(std::move(err));
}

void filesystem_rpc(Engine& e, const EnvdFilesCall& c, std::string_view method,
                    std::string_view body, Reply reply) {
  const bool write = method == "MakeDir" || method == "Move" || method == "Remove";
  auto root = open_workdir(e, c, write);
  if (!root) return reply(connect_error(root.error()));
  int fd = root->get();
  auto entry_answer = [&](const SessionPath& p) {
    auto st = sf::stat_path(fd, p);
    if (!st) return reply(connect_error(st.error()));
    wire::EntryResponse out;
    *out.mutable_entry() = entry_info(*st);
    reply(rpc_ok(out));
  };
  if (method == "Move") {
    wire::MoveRequest m;
    if (auto err = parse_json_object(body, &m)) return reply(connect_error(*err));
    auto from = sandbox_path(m.source(), "source");
    if (!from) return reply(connect_error(from.error()));
    auto to = sandbox_path(m.destination(), "destination");
    if (!to) return reply(connect_error(to.error()));
    if (auto err = sf::move_path(fd, *from, *to)) return reply(connect_error(*err));
    return entry_answer(*to);
  }
  if (method == "ListDir") {
    wire::ListDirRequest m;
    if (auto err = parse_json_object(body, &m)) return reply(connect_error(*err));
    auto p = sandbox_path(m.path(), "path");
    if (!p) return reply(connect_error(p.error()));
    int depth = m.depth() == 0 ? 1 : static_cast<int>(std::min<uint32_t>(m.depth(), 8));
    auto l = sf::list_dir(fd, *p, depth);
    if (!l) return reply(connect_error(l.error()));
    wire::ListDirResponse out;
    for (const auto& en : l->entries) *out.add_entries() = entry_info(en);
    return reply(rpc_ok(out));
  }
  wire::PathRequest m;
  if (auto err = parse_json_object(body, &m)) return reply(connect_error(*err));
  auto p = sandbox_path(m.path(), "path");
  if (!p) return reply(connect_error(p.error()));
  if (method == "Stat") return entry_answer(*p);
  if (method == "MakeDir") {
    if (auto err = sf::make_dir(fd, *p)) return reply(connect_error(*err));
    return entry_answer(*p);
  }
  if (method == "Remove") {
    if (p->is_root())
      return reply(
          connect_error(make_error(ErrorCode::kInvalidArgument, "path_forbidden",
                                   "the working directory itself cannot be removed", "path")));
    if (auto err = sf::remove_path(fd, *p)) return reply(connect_error(*err));
    return reply(rpc_ok(wire::Empty{}));
  }
  reply(connect_error(make_error(ErrorCode::kNotImplemented, "unimplemented",
                                 "filesystem.Filesystem/" + std::string(method))));
}

}  // namespace enclave::http::e2b
