// The orgs' secrets administered online (POST/GET/DELETE /v1/secrets) and read by the egress
// proxy. SecretSet/SecretDeleted events on the well-known secrets stream are the truth; this
// service folds them (events/secrets.h) at open and after each of its own durable appends, so a
// set secret is usable and a deleted one stops being injected from the moment the call answers.
//
// The value is sealed (events/crypto/secret_crypto.h) before it is appended, opened only in
// resolver() for the proxy, and never put into an answer, a log line or an audit event. Tenancy:
// scope `admin`, the caller's org only; another org's name is kNotFound like a missing one.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/engine_types.h"
#include "actors/serial_queue.h"
#include "backends/backend.h"
#include "events/api.pb.h"
#include "events/clock.h"
#include "events/error.h"
#include "events/secrets.h"

namespace enclave {

namespace storage {
class CommitQueue;
class EventLog;
}  // namespace storage

class SecretService {
 public:
  // `sealing_key`: secrets::derive_key(the server's credential secret).
  SecretService(storage::CommitQueue* commits, Clock clock, std::string sealing_key)
      : commits_(commits), clock_(std::move(clock)), key_(std::move(sealing_key)) {}

  // Folds the secrets stream (at open, before any call).
  [[nodiscard]] Result<bool> load(storage::EventLog& log);

  // Creates or replaces a secret of the caller's org. Errors: no scope admin (kPermissionDenied),
  // a field out of shape (kInvalidArgument naming it), more than 1000 secrets, the log refused.
  void set(const Principal& p, const api::CreateSecretRequest& req, Callback<api::Secret> done);
  // The caller's org's secrets: names, hosts and headers, never a value.
  [[nodiscard]] Result<api::SecretList> list(const Principal& p) const;
  // Deletes a secret of the caller's org; the proxy stops injecting it at once.
  void remove(const Principal& p, const std::string& name, Callback<api::Secret> done);

  // A session's `secrets` against its org's: each exists and its hosts are on the allow-list
  // (secrets::check_session).
  [[nodiscard]] std::optional<Error> check_session(const std::string& org,
                                                   const events::SessionSpec& spec,
                                                   const std::string& field_prefix) const;
  // Where and as which header the proxy injects the named secrets that exist now.
  template <typename Names>
  std::vector<backends::SecretBinding> bindings(const std::string& org, const Names& names) const {
    std::vector<backends::SecretBinding> out;
    std::lock_guard lock(mu_);
    for (const auto& n : names)
      if (const auto* s = secrets::find(state_, org, n))
        out.push_back(backends::SecretBinding{s->name, s->hosts, s->header});
    return out;
  }
  // Reads a secret of `org` at each call (opened and rendered), nullopt once it is deleted or
  // when its sealed bytes do not open. The resolver must not outlive this service.
  [[nodiscard]] backends::SecretResolver resolver(const std::string& org) const;

 private:
  void append(events::Envelope e, std::function<void(Result<bool>)> done);

  storage::CommitQueue* commits_;
  Clock clock_;
  std::string key_;
  mutable std::mutex mu_;  // guards state_
  secrets::State state_;
  SerialQueue serial_;  // writes one at a time (each appends at the stream's head)
};

// A secret as listed and answered (no value).
api::Secret secret_view(const secrets::Secret& s);

}  // namespace enclave
