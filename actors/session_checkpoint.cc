// The session actor's checkpoints (docs/PAUSE.md): a pause (the sandbox goes, its slot is
// released), a resume (back through admission, then a restore), and a snapshot a running session
// keeps running through, for forks. The backend does the checkpoint; this records it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "actors/session_actor_state.h"
#include "events/ids.h"
#include "events/views/api_views.h"

namespace enclave::session_actor_detail {

namespace {

Error busy() {
  return make_error(ErrorCode::kConflict, "session_busy",
                    "a turn is running or waiting; pause or fork when it is done");
}

}  // namespace

std::string session_snapshots(const Context* ctx, const std::string& hex) {
  return ctx->snapshots_dir + "/" + hex;
}
std::string image_dir(const Context* ctx, const std::string& hex, const std::string& snapshot) {
  return session_snapshots(ctx, hex) + "/" + snapshot;
}
// What a checkpoint image may weigh before a restore refuses it: the memory bound and the
// sentry's own state.
uint64_t image_bound(const events::SessionSpec& spec) {
  return (static_cast<uint64_t>(std::max(spec.limits().memory_mb(), 256)) << 20) + (256ull << 20);
}

// Starts a checkpoint: a pause (forks 0) or a snapshot for forks.
void start_checkpoint(Self* self, SessionActorState::Checkpointing c) {
  auto& st = self->state;
  c.snapshot_id = to_hex(new_stream_id());
  const std::string dir = image_dir(st.ctx, st.hex, c.snapshot_id);
  const bool leave_running = c.forks > 0;
  st.checkpointing = std::move(c);
  st.ctx->backend->checkpoint(st.hex, dir, leave_running);
}

// A paused session goes back through admission; once admitted it is restored, not launched.
void start_resume(Self* self, const std::string& reason) {
  auto& st = self->state;
  if (!st.s.paused() || st.resuming || st.checkpointing) return;
  st.resuming = true;
  st.resume_reason = reason;
  st.released = false;
  self->send(st.ctx->admission, msg::ToAdmission{msg::Enqueue{st.s.id, self, 0, st.s.org_id}});
}

void on_checkpointed(Self* self, backends::Checkpointed& c) {
  auto& st = self->state;
  if (!st.checkpointing) return;
  auto ck = std::move(*st.checkpointing);
  st.checkpointing.reset();
  auto answer_all = [&](const Result<api::Session>& r) {
    for (auto& w : ck.waiters) w(r);
  };
  if (!c.error.empty()) {
    spdlog::warn("session {}: checkpoint failed: {}", st.hex, c.error);
    std::error_code ec;
    std::filesystem::remove_all(image_dir(st.ctx, st.hex, ck.snapshot_id), ec);
    auto e = make_error(ErrorCode::kConflict, "checkpoint_failed", c.error);
    answer_all(e);
    if (ck.fork_done) ck.fork_done(e);
    pump(self);
    return;
  }
  if (!c.running) {
    auto r =
        record(self, session::Paused{ck.snapshot_id, c.sha256, c.bytes, c.duration_ms, ck.reason});
    if (!r || !*r) {  // ended meanwhile: the image is of no use
      std::error_code ec;
      std::filesystem::remove_all(image_dir(st.ctx, st.hex, ck.snapshot_id), ec);
      answer_all(committed_view(st.ctx, st.s.id));
      return;
    }
    // The sandbox is gone: the backend forgot it, so there is nothing to kill any more.
    st.launched = false;
    st.kill_sent = false;
    auto waiters = std::move(ck.waiters);
    after_commits(
        self,
        [self, waiters] {
          for (auto& w : waiters) w(committed_view(self->state.ctx, self->state.s.id));
        },
        [waiters](const Error& e) {
          for (auto& w : waiters) w(e);
        });
    return;
  }
  auto r = record(
      self, session::TakeSnapshot{ck.snapshot_id, c.sha256, c.bytes, c.duration_ms, ck.forks});
  if (!r || !*r) {
    if (ck.fork_done)
      ck.fork_done(make_error(ErrorCode::kConflict, "session_not_running",
                              "the session ended while it was snapshotted"));
    pump(self);
    return;
  }
  msg::ForkSource src{session::ForkFrom{st.s.id, ck.snapshot_id, c.sha256, c.bytes}, st.s.spec,
                      st.s.org_id};
  auto done = std::move(ck.fork_done);
  after_commits(
      self,
      [self, src, done] {
        done(src);
        pump(self);
      },
      [done](const Error& e) { done(e); });
}

void handle_pause(Self* self, msg::Pause& x) {
  auto& st = self->state;
  auto ok = session::check_pause(st.s);
  if (!ok) return x.done(ok.error());
  if (!*ok) return x.done(committed_view(st.ctx, st.s.id));  // already paused
  if (st.checkpointing && st.checkpointing->forks == 0) {
    st.checkpointing->waiters.push_back(std::move(x.done));
    return;
  }
  if (st.current || !st.exec_queue.empty() || st.checkpointing) return x.done(busy());
  SessionActorState::Checkpointing c;
  c.reason = x.reason;
  c.waiters.push_back(std::move(x.done));
  start_checkpoint(self, std::move(c));
}

void handle_snapshot(Self* self, msg::Snapshot& x) {
  auto& st = self->state;
  auto ok = session::check_fork(st.s);
  if (!ok) return x.done(ok.error());
  if (st.s.paused() && !st.resuming && !st.checkpointing) {
    // Paused: its image is its state now; it is the forks' snapshot (no new checkpoint).
    auto r = record(self, session::TakeSnapshot{st.s.snapshot_id, st.s.snapshot_sha256,
                                                st.s.snapshot_bytes, 0, x.forks});
    if (!r) return x.done(r.error());
    msg::ForkSource src{
        session::ForkFrom{st.s.id, st.s.snapshot_id, st.s.snapshot_sha256, st.s.snapshot_bytes},
        st.s.spec, st.s.org_id};
    auto done = std::move(x.done);
    after_commits(
        self, [src, done] { done(src); }, [done](const Error& e) { done(e); });
    return;
  }
  if (st.s.phase != session::Phase::kRunning || st.resuming)
    return x.done(make_error(ErrorCode::kConflict, "session_not_running",
                             "the session is being resumed; fork it once it runs"));
  if (st.current || !st.exec_queue.empty() || st.checkpointing) return x.done(busy());
  SessionActorState::Checkpointing c;
  c.forks = x.forks;
  c.fork_done = std::move(x.done);
  start_checkpoint(self, std::move(c));
}

}  // namespace enclave::session_actor_detail
