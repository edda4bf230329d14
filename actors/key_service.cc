#include "actors/key_service.h"

#include <spdlog/spdlog.h>

#include "actors/engine_types.h"
#include "actors/key_admin.h"
#include "actors/read_model.h"
#include "events/ids.h"
#include "storage/commit_queue.h"

namespace enclave {

namespace {

Error forbidden_admin() {
  return make_error(ErrorCode::kPermissionDenied, "permission_denied",
                    "this API key lacks the scope admin");
}

Error no_such_key() { return make_error(ErrorCode::kNotFound, "not_found", "no such key"); }

}  // namespace

api::ApiKey key_view(const api_keys::Key& k) {
  api::ApiKey v;
  v.set_id(k.key_id);
  v.set_role(k.role);
  v.set_org_id(k.org_id);
  v.set_name(k.name);
  v.set_created_at(rfc3339(k.created_at_ms));
  v.set_created_by(k.created_by);
  v.set_revoked(k.revoked);
  return v;
}

void KeyService::append(events::Envelope e, std::function<void(Result<bool>)> done) {
  uint64_t seq = model_->keys_last_seq();
  e.set_stream(keys_stream_id());
  e.set_seq(seq + 1);
  e.set_at_ms(clock_());
  e.set_org_id("_system");
  commits_->submit({storage::Append{keys_stream_id(), seq, {std::move(e)}}},
                   [done = std::move(done)](Result<std::vector<storage::Stored>> r) {
                     if (!r) return done(r.error());
                     done(true);
                   });
}

void KeyService::create(const Principal& p, const api::CreateKeyRequest& req,
                        std::function<void(Result<api::CreatedApiKey>)> done) {
  if (!p.has("admin")) return done(forbidden_admin());
  if (req.role().empty())
    return done(make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                           "role is required: owner, member, viewer or metrics", "role"));
  auto minted = keys::mint(p.org_id, req.role(), req.name(), req.e2b(), p.user_id);
  if (!minted) return done(minted.error());
  serial_.run([this, m = std::move(*minted), done = std::move(done),
               by = p.user_id](std::function<void()> finished) mutable {
    std::string secret = std::move(m.secret), id = m.key_id;
    append(std::move(m.event), [this, secret, id, done = std::move(done), by,
                                finished = std::move(finished)](Result<bool> r) {
      auto k = r ? model_->key_by_id(id) : std::nullopt;
      finished();
      if (!r) return done(r.error());
      if (!k)
        return done(make_error(ErrorCode::kInternal, "internal", "the new key was not folded"));
      spdlog::info("API key {} (org {}, role {}) created by {}", id, k->org_id, k->role, by);
      api::CreatedApiKey out;
      out.set_id(k->key_id);
      out.set_key(secret);
      out.set_role(k->role);
      out.set_org_id(k->org_id);
      out.set_name(k->name);
      out.set_created_at(rfc3339(k->created_at_ms));
      done(std::move(out));
    });
  });
}

Result<api::ApiKeyList> KeyService::list(const Principal& p) const {
  if (!p.has("admin")) return forbidden_admin();
  api::ApiKeyList out;
  for (const auto& k : model_->keys_of_org(p.org_id)) *out.add_keys() = key_view(k);
  return out;
}

void KeyService::revoke(const Principal& p, const std::string& key_id,
                        std::function<void(Result<api::ApiKey>)> done) {
  auto k = model_->key_by_id(key_id);
  if (!k || k->org_id != p.org_id) return done(no_such_key());
  if (!p.has("admin")) return done(forbidden_admin());
  serial_.run([this, key_id, done = std::move(done),
               by = p.user_id](std::function<void()> finished) mutable {
    auto now = model_->key_by_id(key_id);
    if (!now || now->revoked) {
      finished();
      return now ? done(key_view(*now)) : done(no_such_key());
    }
    events::Envelope e;
    e.mutable_api_key_revoked()->set_key_id(key_id);
    append(std::move(e), [this, key_id, done = std::move(done), by,
                          finished = std::move(finished)](Result<bool> r) {
      auto k = model_->key_by_id(key_id);
      finished();
      if (!r) return done(r.error());
      if (!k) return done(no_such_key());
      spdlog::info("API key {} (org {}) revoked by {}", key_id, k->org_id, by);
      done(key_view(*k));
    });
  });
}

bool KeyService::live(const std::string& user_id) const {
  if (user_id.rfind("key:", 0) != 0) return true;
  auto k = model_->key_by_id(user_id.substr(4));
  return k && !k->revoked;
}

}  // namespace enclave
