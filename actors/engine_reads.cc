// The facade's reads (answered from the read model), live streams, auth and metrics.
#include <memory>

#include "actors/audit_trail.h"
#include "actors/engine.h"
#include "actors/engine_impl.h"
#include "actors/metrics.h"
#include "actors/stream_gate.h"
#include "actors/visibility.h"
#include "events/api_keys.h"
#include "events/ids.h"
#include "events/requests/session_request.h"
#include "events/views/api_views.h"

namespace enclave {

// ---- reads ------------------------------------------------------------------------------------

Result<api::Session> Engine::get_session(const Principal& p, const std::string& id) const {
  auto s = visible_session(impl_->model(), p, id);
  if (!s) return s.error();
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  return views::session(*s);
}

Result<api::SessionList> Engine::list_sessions(const Principal& p, const ListQuery& q) const {
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  auto f = validate_list_query(q);
  if (!f) return f.error();
  auto page = impl_->model().list_sessions(p.org_id, f->fleet_id, f->phase, f->after, f->limit);
  api::SessionList out;
  for (const auto& s : page.sessions) *out.add_sessions() = views::session(s);
  if (page.next_cursor) out.set_next_cursor(std::to_string(page.next_cursor));
  return out;
}

Result<api::SessionResult> Engine::get_result(const Principal& p, const std::string& id) const {
  auto s = visible_session(impl_->model(), p, id);
  if (!s) return s.error();
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  return views::result(*s);
}

Result<api::AuditTrail> Engine::get_audit(const Principal& p, const std::string& id) const {
  auto s = visible_session(impl_->model(), p, id);
  if (!s) return s.error();
  if (!p.has("audit:read")) return forbidden("audit:read");
  return audit_trail(*impl_->log, s->id);
}

Result<api::Fleet> Engine::get_fleet(const Principal& p, const std::string& id,
                                     bool members) const {
  auto f = visible_fleet(impl_->model(), p, id, members);
  if (!f) return f.error();
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  return views::fleet(*f, members);
}

Result<api::FleetList> Engine::list_fleets(const Principal& p) const {
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  api::FleetList out;
  for (const auto& f : impl_->model().list_fleets(p.org_id)) *out.add_fleets() = views::fleet(f);
  return out;
}

// ---- live stream ------------------------------------------------------------------------------

Result<uint64_t> Engine::subscribe(const Principal& p, const std::string& id,
                                   std::function<void(const StreamItem&)> on_item) {
  auto* d = impl_.get();
  auto s = visible_session(d->model(), p, id);
  if (!s) return s.error();
  if (!p.has("audit:read")) return forbidden("audit:read");
  // Live items that arrive while the history is being sent are held back, then deduplicated by
  // seq, so the subscriber sees every audit event exactly once and in order.
  auto gate = std::make_shared<StreamGate>(std::move(on_item));
  uint64_t sub = d->model().subscribe(s->id, [gate](const StreamItem& item) { gate->live(item); });
  auto history = d->log->read_stream(s->id);
  std::vector<StreamItem> first;
  bool torn_down = false;
  if (history) {
    first.reserve(history->size());
    for (const auto& e : *history) {
      StreamItem item;
      item.audit = views::audit_event(e.envelope, to_hex(e.hash));
      first.push_back(std::move(item));
      torn_down |= e.envelope.payload_case() == events::Envelope::kSessionTornDown;
    }
  }
  gate->open(first, torn_down);
  return sub;
}

Result<uint64_t> Engine::subscribe_fleet(const Principal& p, const std::string& id,
                                         std::function<void(const StreamItem&)> on_item) {
  auto* d = impl_.get();
  auto f = visible_fleet(d->model(), p, id);
  if (!f) return f.error();
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  // Deltas committed while the first view is being taken are held back and sent after it; each
  // carries absolute phases, so the subscriber's merged view ends equal to the fold.
  auto gate = std::make_shared<StreamGate>(std::move(on_item));
  uint64_t sub =
      d->model().subscribe_fleet(f->id, [gate](const StreamItem& item) { gate->live(item); });
  auto now = d->model().fleet(f->id).value_or(*f);
  StreamItem first;
  first.kind = StreamItem::Kind::kFleet;
  first.fleet = views::fleet(now);
  gate->open({first}, fleet::aggregate(fleet::counts(now)) >= fleet::Phase::kCompleted);
  return sub;
}

void Engine::unsubscribe(uint64_t subscription) { impl_->model().unsubscribe(subscription); }

// ---- auth and metrics -------------------------------------------------------------------------

std::optional<Principal> Engine::authenticate(std::string_view api_key) const {
  if (api_key.empty() || api_key.size() > 200) return std::nullopt;
  auto k = impl_->model().key_by_hash(api_keys::hash_secret(std::string(api_key)));
  if (!k) return std::nullopt;
  return Principal{"key:" + k->key_id, k->org_id, k->role, scopes_for_role(k->role)};
}

bool Engine::principal_live(const std::string& user_id) const { return impl_->keys->live(user_id); }

void Engine::create_key(const Principal& p, const api::CreateKeyRequest& req,
                        Callback<api::CreatedApiKey> done) {
  impl_->keys->create(p, req, std::move(done));
}

Result<api::ImageList> Engine::list_images(const Principal& p) const {
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  api::ImageList out;
  const auto catalog = image_catalog(impl_->config);  // held: the loop reads into it
  for (const auto& [name, image] : catalog->by_name) *out.add_images() = image;
  return out;
}

Result<api::ApiKeyList> Engine::list_keys(const Principal& p) const { return impl_->keys->list(p); }

void Engine::revoke_key(const Principal& p, const std::string& key_id, Callback<api::ApiKey> done) {
  impl_->keys->revoke(p, key_id, std::move(done));
}

std::string Engine::metrics_text() const {
  auto* d = impl_.get();
  MetricsInputs in;
  in.counters = d->model().counters();
  in.max_concurrency = d->config.max_concurrency;
  in.live_actors = d->registry.size();
  in.waiters = d->model().waiters().size();
  in.log_bytes = d->log->bytes_appended();
  in.log_batches = d->commits->batches();
  in.log_submissions = d->commits->submissions();
  in.log_latency = d->commits->latency();
  in.pool_idle = d->backend->idle_pool_size();
  in.backend = d->backend_name;
  return render_metrics(in);
}

}  // namespace enclave
