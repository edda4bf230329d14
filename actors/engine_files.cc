// The facade's files calls (issue 20): a live session's working directory, its file audit
// events, and a batch session's artifacts. The HTTP side is http/files_api.cc.
#include <caf/all.hpp>

#include "actors/engine.h"
#include "actors/engine_impl.h"
#include "actors/messages.h"
#include "actors/once_callback.h"
#include "actors/visibility.h"
#include "events/ids.h"

namespace enclave {

Result<std::string> Engine::session_workdir(const Principal& p, const std::string& id,
                                            bool write) const {
  auto s = visible_session(impl_->model(), p, id);
  if (!s) return s.error();
  if (!p.has(write ? "sessions:write" : "sessions:read"))
    return forbidden(write ? "sessions:write" : "sessions:read");
  if (!s->interactive())
    return make_error(ErrorCode::kConflict, "session_not_running",
                      "the files API reaches interactive sessions; a batch session takes `files` "
                      "in its request and gives back `artifacts`");
  if (s->phase == session::Phase::kPaused)
    return make_error(ErrorCode::kConflict, "session_paused",
                      "session is paused: its files are inside its checkpoint; resume it first "
                      "(POST /v1/sessions/" +
                          id + "/resume), then read or write them");
  if (s->phase != session::Phase::kRunning)
    return make_error(ErrorCode::kConflict, "session_not_running",
                      std::string("session is ") + session::phase_name(s->phase));
  auto dir = impl_->backend->workdir(to_hex(s->id));
  if (dir.empty())
    return make_error(
        ErrorCode::kConflict, "session_not_running",
        "the session's working directory is not reachable (backend " + impl_->backend_name + ")");
  return dir;
}

void Engine::record_file(const Principal& p, const std::string& id,
                         std::variant<events::FileWritten, events::FileRead> access,
                         Callback<bool> done) {
  auto* d = impl_.get();
  auto s = visible_session(d->model(), p, id);
  if (!s) return done(s.error());
  auto a = d->registry.get(s->id);
  auto gone = [] {
    return Result<bool>(
        make_error(ErrorCode::kConflict, "session_not_running", "session has ended"));
  };
  if (!a) return done(gone());
  caf::anon_send(a, msg::ToSession{msg::RecordFile{session::RecordFile{std::move(access)},
                                                   answered_once<bool>(std::move(done), gone)}});
}

Result<std::vector<events::ArtifactCollected>> Engine::artifacts(const Principal& p,
                                                                 const std::string& id) const {
  auto s = visible_session(impl_->model(), p, id);
  if (!s) return s.error();
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  auto events = impl_->log->read_stream(s->id, 1, s->last_seq);
  if (!events) return events.error();
  std::vector<events::ArtifactCollected> out;
  for (auto& e : *events)
    if (e.envelope.has_artifact_collected()) out.push_back(e.envelope.artifact_collected());
  return out;
}

}  // namespace enclave
