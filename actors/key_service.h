// API keys administered online (POST/GET/DELETE /v1/keys) while the server runs: the same
// ApiKeyCreated/ApiKeyRevoked events the offline `enclaved keys` appends, written through the
// engine's commit queue. The read model folds them before a write is acknowledged, so a created
// key works and a revoked key is refused from the moment the call answers.
//
// Tenancy: every call needs scope `admin` and sees only the caller's org; another org's key id is
// kNotFound, exactly like an id that does not exist. Secrets are shown once (the create answer);
// only their SHA-256 is stored.
#pragma once

#include <functional>
#include <string>

#include "actors/serial_queue.h"
#include "events/api.pb.h"
#include "events/api_keys.h"
#include "events/clock.h"
#include "events/error.h"

namespace enclave {

namespace storage {
class CommitQueue;
}
class ReadModel;
struct Principal;  // actors/engine.h (this sits below the facade and does not include it)

class KeyService {
 public:
  KeyService(storage::CommitQueue* commits, ReadModel* model, Clock clock)
      : commits_(commits), model_(model), clock_(std::move(clock)) {}

  // Creates a key of the caller's org. Errors: no scope admin (kPermissionDenied), a role, name
  // out of shape (kInvalidArgument naming the field), the log refused (as the log says).
  void create(const Principal& p, const api::CreateKeyRequest& req,
              std::function<void(Result<api::CreatedApiKey>)> done);
  // The caller's org's keys, revoked ones included; never a secret.
  [[nodiscard]] Result<api::ApiKeyList> list(const Principal& p) const;
  // Revokes a key of the caller's org; idempotent (a revoked key answers its view again).
  void revoke(const Principal& p, const std::string& key_id,
              std::function<void(Result<api::ApiKey>)> done);
  // Whether `user_id` ("key:<id>") names a key that exists and is not revoked. Principals that
  // are not keys (auth disabled: "anonymous") are live.
  [[nodiscard]] bool live(const std::string& user_id) const;

 private:
  void append(events::Envelope e, std::function<void(Result<bool>)> done);

  storage::CommitQueue* commits_;
  ReadModel* model_;
  Clock clock_;
  SerialQueue serial_;  // writes one at a time (each appends at the stream's head)
};

// A key as listed (no secret).
api::ApiKey key_view(const api_keys::Key& k);

}  // namespace enclave
