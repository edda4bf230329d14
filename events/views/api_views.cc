#include "events/views/api_views.h"

#include <google/protobuf/util/json_util.h>

#include "events/codec/base64.h"
#include "events/ids.h"
#include "events/policy/egress_policy.h"

namespace enclave::views {

namespace pb = google::protobuf;

std::string utf8(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    unsigned char c = in[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= in.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(in[i + k]) >> 6) == 2;
    if (ok && n == 3) {  // no surrogates, no overlongs
      unsigned cp = (c & 0x0f) << 12 | (in[i + 1] & 0x3f) << 6 | (in[i + 2] & 0x3f);
      ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
    } else if (ok && n == 2) {
      ok = c >= 0xc2;
    } else if (ok && n == 4) {
      unsigned cp = (c & 0x07) << 18 | (in[i + 1] & 0x3f) << 12;
      ok = cp >= 0x10000 && cp <= 0x10ffff;
    }
    if (ok) {
      out.append(in, i, n);
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      i += 1;
    }
  }
  return out;
}

namespace {

api::Limits limits(const events::Limits& l) {
  api::Limits a;
  a.set_memory_mb(l.memory_mb());
  a.set_cpu_millis(l.cpu_millis());
  a.set_pids(l.pids());
  a.set_wall_clock_seconds(l.wall_clock_seconds());
  a.set_disk_mb(l.disk_mb());
  return a;
}

// A JSON text (as stored from enclave.result) as a protobuf Value; null if empty or unparsable.
pb::Value json_value(const std::string& text) {
  pb::Value v;
  if (text.empty() || !pb::util::JsonStringToMessage(text, &v).ok()) v.set_null_value({});
  return v;
}

void put(pb::Struct* s, const std::string& k, const std::string& v) {
  (*s->mutable_fields())[k].set_string_value(v);
}
void put(pb::Struct* s, const std::string& k, double v) {
  (*s->mutable_fields())[k].set_number_value(v);
}
void put_bool(pb::Struct* s, const std::string& k, bool v) {
  (*s->mutable_fields())[k].set_bool_value(v);
}

}  // namespace

api::Session session(const session::State& s) {
  api::Session a;
  a.set_id(to_hex(s.id));
  a.set_org_id(s.org_id);
  a.set_created_by(s.created_by);
  if (!s.spec.fleet_id().empty()) a.set_fleet_id(to_hex(s.spec.fleet_id()));
  if (!s.spec.name().empty()) a.set_name(s.spec.name());
  for (const auto& n : s.spec.secrets()) a.add_secrets(n);
  a.set_phase(session::phase_name(s.phase));
  a.set_exec_mode(s.interactive() ? "interactive" : "batch");
  a.set_language(s.spec.language());
  a.set_image(s.spec.image().empty() ? "default" : s.spec.image());
  a.set_image_digest(s.spec.image_digest());
  a.mutable_egress()->set_mode(s.spec.egress().mode());
  for (const auto& h : s.spec.egress().allow()) a.mutable_egress()->add_allow(h);
  a.mutable_egress()->set_kill_on_denied(s.spec.egress().kill_on_denied());
  *a.mutable_limits() = limits(s.spec.limits());
  a.set_created_at(rfc3339(s.created_at_ms));
  if (s.started_at_ms) a.set_started_at(rfc3339(s.started_at_ms));
  if (s.ended_at_ms) a.set_ended_at(rfc3339(s.ended_at_ms));
  if (s.exit_code) a.set_exit_code(*s.exit_code);
  if (s.kill_reason != events::KILL_REASON_NONE)
    a.set_kill_reason(session::kill_reason_name(s.kill_reason));
  a.set_turns(s.turns);
  a.set_torn_down(s.torn_down);
  if (!s.teardown_incomplete.empty()) a.set_teardown_incomplete(utf8(s.teardown_incomplete));
  if (!s.snapshot_id.empty() && !s.ended()) {
    auto* snap = a.mutable_snapshot();
    snap->set_id(s.snapshot_id);
    snap->set_bytes(static_cast<double>(s.snapshot_bytes));
    snap->set_taken_at(rfc3339(s.snapshot_taken_at_ms));
  }
  if (!s.forked_from.empty()) a.set_forked_from(to_hex(s.forked_from));
  if (s.usage_recorded) {
    auto* u = a.mutable_usage();
    u->set_wall_ms(static_cast<double>(s.usage.wall_ms()));
    u->set_cpu_ms(static_cast<double>(s.usage.cpu_ms()));
    u->set_peak_memory_bytes(static_cast<double>(s.usage.peak_memory_bytes()));
    u->set_turn_ms_total(static_cast<double>(s.usage.turn_ms_total()));
  }
  return a;
}

api::SessionResult result(const session::State& s) {
  api::SessionResult r;
  r.set_stdout(utf8(s.stdout_text));
  r.set_stderr(utf8(s.stderr_text));
  if (s.exit_code) r.set_exit_code(*s.exit_code);
  *r.mutable_json() = json_value(s.json);
  r.set_final(s.exited || s.torn_down);
  r.mutable_truncated()->set_stdout(s.stdout_truncated);
  r.mutable_truncated()->set_stderr(s.stderr_truncated);
  return r;
}

api::ExecTurnResult turn_result(const events::ExecTurn& t) {
  api::ExecTurnResult r;
  r.set_turn(t.turn());
  r.set_stdout(utf8(t.stdout()));
  r.set_stderr(utf8(t.stderr()));
  if (t.has_exit_code())
    r.mutable_exit_code()->set_number_value(t.exit_code());
  else
    r.mutable_exit_code()->set_null_value({});
  *r.mutable_json() = json_value(t.json());
  r.set_duration_ms(t.duration_ms());
  for (const auto& x : t.results()) {
    auto* o = r.add_results();
    o->set_type(x.type());
    o->set_data(x.type() == "image/png" ? base64_encode(x.data()) : utf8(x.data()));
    o->set_is_main_result(x.is_main_result());
  }
  return r;
}

api::AuditEvent audit_event(const events::Envelope& e, const std::string& hash_hex) {
  api::AuditEvent a;
  a.set_seq(e.seq());
  a.set_type(session::event_type(e));
  a.set_at(rfc3339(e.at_ms()));
  a.set_hash(hash_hex);
  a.set_prev_hash(to_hex(e.prev_hash()));
  auto* d = a.mutable_data();
  std::string msg;
  using E = events::Envelope;
  switch (e.payload_case()) {
    case E::kSessionCreated: {
      const auto& c = e.session_created();
      put(d, "orgId", c.org_id());
      put(d, "createdBy", c.created_by());
      put(d, "execMode",
          c.spec().exec_mode() == events::EXEC_MODE_INTERACTIVE ? "interactive" : "batch");
      put(d, "language", c.spec().language());
      put(d, "codeBytes", static_cast<double>(c.spec().code().size()));
      put(d, "egressMode", c.spec().egress().mode());
      if (!c.spec().image().empty()) {  // what the root filesystem was, by content (issue 21)
        pb::Struct image;
        put(&image, "name", c.spec().image());
        put(&image, "digest", c.spec().image_digest());
        *(*d->mutable_fields())["image"].mutable_struct_value() = std::move(image);
      }
      if (!c.spec().fleet_id().empty()) {
        put(d, "fleetId", to_hex(c.spec().fleet_id()));
        put(d, "fleetIndex", c.spec().fleet_index());
      }
      msg = "session created by " + c.created_by();
      break;
    }
    case E::kSessionQueued:
      put(d, "queued", e.session_queued().queued());
      put(d, "maxConcurrency", e.session_queued().max_concurrency());
      put(d, "ticket", static_cast<double>(e.session_queued().ticket()));
      if (e.session_queued().org_queued()) put(d, "orgQueued", e.session_queued().org_queued());
      msg = "queued behind the admission ceiling";
      break;
    case E::kSessionAdmitted:
      put(d, "active", e.session_admitted().active());
      put(d, "maxConcurrency", e.session_admitted().max_concurrency());
      put(d, "ticket", static_cast<double>(e.session_admitted().ticket()));
      put(d, "grant", static_cast<double>(e.session_admitted().grant()));
      msg = "admitted; sandbox starting";
      break;
    case E::kSandboxStarted:
      put(d, "backend", e.sandbox_started().backend());
      put_bool(d, "reattached", e.sandbox_started().reattached());
      if (!e.sandbox_started().container_id().empty())
        put(d, "containerId", e.sandbox_started().container_id());
      msg = e.sandbox_started().reattached() ? "sandbox re-attached after restart"
                                             : "sandbox started";
      break;
    case E::kExecTurn: {
      const auto& t = e.exec_turn();
      put(d, "turn", t.turn());
      put(d, "codeSha256", t.code_sha256());
      if (t.has_exit_code()) put(d, "exitCode", t.exit_code());
      put(d, "durationMs", static_cast<double>(t.duration_ms()));
      put(d, "meteredMs", static_cast<double>(t.metered_ms()));
      put(d, "stdoutBytes", static_cast<double>(t.stdout().size()));
      put(d, "stderrBytes", static_cast<double>(t.stderr().size()));
      put_bool(d, "timedOut", t.timed_out());
      if (t.cpu_ms() > 0) put(d, "cpuMs", static_cast<double>(t.cpu_ms()));
      msg = "turn " + std::to_string(t.turn());
      break;
    }
    case E::kEgressDenied:
      put(d, "host", e.egress_denied().host());
      put(d, "port", e.egress_denied().port());
      // Events recorded before the policy existed carry neither: they were allow-list refusals.
      if (!e.egress_denied().ip().empty()) put(d, "ip", e.egress_denied().ip());
      put(d, "reason",
          e.egress_denied().reason().empty() ? std::string(egress::kNotAllowed)
                                             : e.egress_denied().reason());
      msg = "egress to " + e.egress_denied().host() + ":" +
            std::to_string(e.egress_denied().port()) + " denied";
      if (!e.egress_denied().reason().empty()) msg += " (" + e.egress_denied().reason() + ")";
      break;
    case E::kEgressAllowed:
      put(d, "host", e.egress_allowed().host());
      put(d, "port", e.egress_allowed().port());
      put(d, "ip", e.egress_allowed().ip());
      msg = "egress to " + e.egress_allowed().host() + ":" +
            std::to_string(e.egress_allowed().port()) + " allowed (" + e.egress_allowed().ip() +
            ")";
      break;
    case E::kQuotaKilled:
      put(d, "reason", session::kill_reason_name(e.quota_killed().reason()));
      put(d, "detail", e.quota_killed().detail());
      if (e.quota_killed().reason() == events::KILL_REASON_TURN_BUDGET_EXCEEDED) {
        put(d, "turnMsTotal", static_cast<double>(e.quota_killed().turn_ms_total()));
        put(d, "cpuMs", static_cast<double>(e.quota_killed().cpu_ms()));
      }
      msg = std::string("killed: ") + session::kill_reason_name(e.quota_killed().reason());
      break;
    case E::kWorkloadExited: {
      const auto& x = e.workload_exited();
      put(d, "exitCode", x.exit_code());
      put(d, "stdoutBytes", static_cast<double>(x.stdout_bytes()));
      put(d, "stderrBytes", static_cast<double>(x.stderr_bytes()));
      put_bool(d, "stdoutTruncated", x.stdout_truncated());
      put_bool(d, "stderrTruncated", x.stderr_truncated());
      put_bool(d, "hasResult", !x.json().empty());
      if (!x.detail().empty()) put(d, "detail", x.detail());
      msg = "workload exited with " + std::to_string(x.exit_code());
      break;
    }
    case E::kUsageMetered: {
      const auto& u = e.usage_metered();
      put(d, "wallMs", static_cast<double>(u.wall_ms()));
      put(d, "cpuMs", static_cast<double>(u.cpu_ms()));
      put(d, "peakMemoryBytes", static_cast<double>(u.peak_memory_bytes()));
      put(d, "turnMsTotal", static_cast<double>(u.turn_ms_total()));
      msg = "usage metered";
      break;
    }
    case E::kCpuMetered:
      put(d, "cpuMs", static_cast<double>(e.cpu_metered().cpu_ms()));
      msg = "sandbox CPU metered";
      break;
    case E::kFileWritten:
      put(d, "path", e.file_written().path());
      put(d, "size", static_cast<double>(e.file_written().size()));
      put(d, "sha256", e.file_written().sha256());
      put(d, "via", e.file_written().via());
      msg = "file written: " + e.file_written().path();
      break;
    case E::kFileRead:
      put(d, "path", e.file_read().path());
      put(d, "size", static_cast<double>(e.file_read().size()));
      msg = "file read: " + e.file_read().path();
      break;
    case E::kArtifactCollected:  // the content is served by …/artifacts/content, not shown here
      put(d, "path", e.artifact_collected().path());
      put(d, "size", static_cast<double>(e.artifact_collected().size()));
      put(d, "sha256", e.artifact_collected().sha256());
      msg = "artifact collected: " + e.artifact_collected().path();
      break;
    case E::kSessionTornDown:
      put(d, "detail", e.session_torn_down().detail());
      msg = "sandbox removed";
      break;
    case E::kTeardownIncomplete:
      put(d, "what", utf8(e.teardown_incomplete().what()));
      put(d, "attempt", e.teardown_incomplete().attempt());
      msg = "sandbox not fully removed: " + utf8(e.teardown_incomplete().what());
      break;
    case E::kSessionPaused: {
      const auto& p = e.session_paused();
      put(d, "snapshotId", p.snapshot_id());
      put(d, "bytes", static_cast<double>(p.bytes()));
      put(d, "sha256", p.sha256());
      put(d, "durationMs", static_cast<double>(p.duration_ms()));
      put(d, "reason", p.reason());
      msg = "paused (" + p.reason() + "): sandbox checkpointed and removed";
      break;
    }
    case E::kSessionResumed:
      put(d, "snapshotId", e.session_resumed().snapshot_id());
      put(d, "reason", e.session_resumed().reason());
      put(d, "containerId", e.session_resumed().container_id());
      msg = "resumed (" + e.session_resumed().reason() + ")";
      break;
    case E::kSnapshotTaken: {
      const auto& t = e.snapshot_taken();
      put(d, "snapshotId", t.snapshot_id());
      put(d, "bytes", static_cast<double>(t.bytes()));
      put(d, "sha256", t.sha256());
      put(d, "durationMs", static_cast<double>(t.duration_ms()));
      put(d, "forks", t.forks());
      msg = "snapshot taken for " + std::to_string(t.forks()) + " fork(s)";
      break;
    }
    case E::kSessionForked:
      put(d, "from", to_hex(e.session_forked().from()));
      put(d, "snapshotId", e.session_forked().snapshot_id());
      put(d, "sha256", e.session_forked().sha256());
      msg = "forked from " + to_hex(e.session_forked().from());
      break;
    case E::kFleetCreated:
      put(d, "name", e.fleet_created().name());
      put(d, "members", e.fleet_created().member_ids_size());
      msg = "fleet created";
      break;
    case E::kFleetTornDown:
      msg = "fleet torn down";
      break;
    case E::kApiKeyCreated:
      put(d, "keyId", e.api_key_created().key_id());
      put(d, "orgId", e.api_key_created().org_id());
      put(d, "role", e.api_key_created().role());
      msg = "api key created";
      break;
    case E::kApiKeyRevoked:
      put(d, "keyId", e.api_key_revoked().key_id());
      msg = "api key revoked";
      break;
    case E::kOrgSettingsSet:
      put(d, "orgId", e.org_settings_set().org_id());
      put(d, "weight", e.org_settings_set().weight());
      put(d, "maxQueued", e.org_settings_set().max_queued());
      put(d, "maxLive", e.org_settings_set().max_live());
      msg = "org admission settings set";
      break;
    case E::kSecretSet:  // names and hosts only: the sealed value is never shown
      put(d, "orgId", e.secret_set().org_id());
      put(d, "name", e.secret_set().name());
      put(d, "header", e.secret_set().header());
      put(d, "createdBy", e.secret_set().created_by());
      msg = "secret " + e.secret_set().name() + " set";
      break;
    case E::kSecretDeleted:
      put(d, "orgId", e.secret_deleted().org_id());
      put(d, "name", e.secret_deleted().name());
      msg = "secret " + e.secret_deleted().name() + " deleted";
      break;
    case E::kSecretUsed: {
      const auto& u = e.secret_used();
      put(d, "name", u.name());
      put(d, "host", u.host());
      put(d, "port", u.port());
      put(d, "method", u.method());
      put(d, "path", u.path());
      put(d, "count", u.count());
      msg = "secret " + u.name() + " injected into " + u.method() + " " + u.host() + ":" +
            std::to_string(u.port()) + u.path();
      if (u.count() > 1) msg += " (" + std::to_string(u.count()) + " requests)";
      break;
    }
    case E::PAYLOAD_NOT_SET:
      break;
  }
  a.set_message(msg);
  return a;
}

api::Fleet fleet(const fleet::State& f, bool members) {
  api::Fleet a;
  a.set_id(to_hex(f.id));
  a.set_org_id(f.org_id);
  a.set_created_by(f.created_by);
  a.set_name(f.name);
  auto c = fleet::counts(f);
  a.set_phase(fleet::phase_name(fleet::aggregate(c)));
  a.set_created_at(rfc3339(f.created_at_ms));
  auto* ac = a.mutable_counts();
  ac->set_queued(c.queued);
  ac->set_starting(c.starting);
  ac->set_running(c.running);
  ac->set_succeeded(c.succeeded);
  ac->set_failed(c.failed);
  ac->set_killed(c.killed);
  for (size_t i = 0; members && i < f.member_ids.size(); ++i) {
    auto* m = a.add_members();
    m->set_index(static_cast<uint32_t>(i));
    m->set_session_id(to_hex(f.member_ids[i]));
    m->set_phase(session::phase_name(f.member_phases[i]));
  }
  return a;
}

}  // namespace enclave::views
