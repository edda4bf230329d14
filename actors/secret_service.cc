#include "actors/secret_service.h"

#include <spdlog/spdlog.h>

#include "events/crypto/secret_crypto.h"
#include "events/ids.h"
#include "storage/commit_queue.h"
#include "storage/event_log.h"

namespace enclave {

namespace {

Error forbidden_admin() {
  return make_error(ErrorCode::kPermissionDenied, "permission_denied",
                    "this API key lacks the scope admin");
}

Error no_such_secret() { return make_error(ErrorCode::kNotFound, "not_found", "no such secret"); }

}  // namespace

api::Secret secret_view(const secrets::Secret& s) {
  api::Secret v;
  v.set_name(s.name);
  for (const auto& h : s.hosts) v.add_hosts(h);
  v.set_header(s.header);
  v.set_created_at(rfc3339(s.created_at_ms));
  v.set_created_by(s.created_by);
  return v;
}

Result<bool> SecretService::load(storage::EventLog& log) {
  auto events = log.read_stream(secrets_stream_id());
  if (!events) return events.error();
  std::lock_guard lock(mu_);
  for (const auto& e : *events) state_ = secrets::apply(std::move(state_), e.envelope);
  return true;
}

void SecretService::append(events::Envelope e, std::function<void(Result<bool>)> done) {
  uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    seq = state_.last_seq;
  }
  e.set_stream(secrets_stream_id());
  e.set_seq(seq + 1);
  e.set_at_ms(clock_());
  e.set_org_id("_system");
  events::Envelope folded = e;
  commits_->submit({storage::Append{secrets_stream_id(), seq, {std::move(e)}}},
                   [this, folded = std::move(folded),
                    done = std::move(done)](Result<std::vector<storage::Stored>> r) {
                     if (!r) return done(r.error());
                     {
                       std::lock_guard lock(mu_);
                       state_ = secrets::apply(std::move(state_), folded);
                     }
                     done(true);
                   });
}

void SecretService::set(const Principal& p, const api::CreateSecretRequest& req,
                        Callback<api::Secret> done) {
  if (!p.has("admin")) return done(forbidden_admin());
  auto checked = secrets::check_create(req);
  if (!checked) return done(checked.error());
  auto sealed = secrets::seal(key_, p.org_id, checked->name, checked->value);
  if (!sealed) return done(sealed.error());
  events::Envelope e;
  auto* s = e.mutable_secret_set();
  s->set_org_id(p.org_id);
  s->set_name(checked->name);
  for (const auto& h : checked->hosts) s->add_hosts(h);
  s->set_header(checked->header);
  s->set_format(checked->format);
  s->set_nonce(sealed->nonce);
  s->set_sealed(sealed->sealed);
  s->set_created_by(p.user_id);
  serial_.run([this, e = std::move(e), org = p.org_id, name = checked->name,
               done = std::move(done)](std::function<void()> finished) mutable {
    {
      std::lock_guard lock(mu_);
      if (!secrets::find(state_, org, name) &&
          secrets::of_org(state_, org).size() >= secrets::kMaxPerOrg) {
        finished();
        return done(make_error(ErrorCode::kQuotaExceeded, "quota_exceeded",
                               "an org holds at most 1000 secrets", "name"));
      }
    }
    append(std::move(e), [this, org, name, done = std::move(done),
                          finished = std::move(finished)](Result<bool> r) {
      std::optional<secrets::Secret> now;
      {
        std::lock_guard lock(mu_);
        if (const auto* s = secrets::find(state_, org, name)) now = *s;
      }
      finished();
      if (!r) return done(r.error());
      if (!now) return done(no_such_secret());
      std::string hosts;
      for (const auto& h : now->hosts) hosts += (hosts.empty() ? "" : ", ") + h;
      spdlog::info("secret {} of org {} set by {} (hosts: {})", name, org, now->created_by, hosts);
      done(secret_view(*now));
    });
  });
}

Result<api::SecretList> SecretService::list(const Principal& p) const {
  if (!p.has("admin")) return forbidden_admin();
  api::SecretList out;
  std::lock_guard lock(mu_);
  for (const auto& s : secrets::of_org(state_, p.org_id)) *out.add_secrets() = secret_view(s);
  return out;
}

void SecretService::remove(const Principal& p, const std::string& name,
                           Callback<api::Secret> done) {
  {
    std::lock_guard lock(mu_);
    if (!secrets::find(state_, p.org_id, name)) return done(no_such_secret());
  }
  if (!p.has("admin")) return done(forbidden_admin());
  serial_.run([this, org = p.org_id, by = p.user_id, name,
               done = std::move(done)](std::function<void()> finished) mutable {
    std::optional<secrets::Secret> before;
    {
      std::lock_guard lock(mu_);
      if (const auto* s = secrets::find(state_, org, name)) before = *s;
    }
    if (!before) {
      finished();
      return done(no_such_secret());
    }
    events::Envelope e;
    e.mutable_secret_deleted()->set_org_id(org);
    e.mutable_secret_deleted()->set_name(name);
    e.mutable_secret_deleted()->set_deleted_by(by);
    append(std::move(e), [org, by, name, before = std::move(*before), done = std::move(done),
                          finished = std::move(finished)](Result<bool> r) {
      finished();
      if (!r) return done(r.error());
      spdlog::info("secret {} of org {} deleted by {}", name, org, by);
      done(secret_view(before));
    });
  });
}

std::optional<Error> SecretService::check_session(const std::string& org,
                                                  const events::SessionSpec& spec,
                                                  const std::string& field_prefix) const {
  if (spec.secrets_size() == 0) return std::nullopt;
  std::lock_guard lock(mu_);
  return secrets::check_session(
      spec, [&](const std::string& name) { return secrets::find(state_, org, name); },
      field_prefix);
}

backends::SecretResolver SecretService::resolver(const std::string& org) const {
  return [this, org](const std::string& name) -> std::optional<std::string> {
    std::string nonce, sealed, format;
    {
      std::lock_guard lock(mu_);
      const auto* s = secrets::find(state_, org, name);
      if (!s) return std::nullopt;
      nonce = s->nonce, sealed = s->sealed, format = s->format;
    }
    auto value = secrets::open(key_, org, name, nonce, sealed);
    if (!value) {
      spdlog::warn("secret {} of org {} does not open (altered, or sealed under another key)", name,
                   org);
      return std::nullopt;
    }
    return secrets::render(format, *value);
  };
}

}  // namespace enclave
