// What every actor of one engine shares. Owned by the Engine; outlives all actors.
#pragma once

#include <caf/all.hpp>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "actors/credential_store.h"
#include "actors/read_model.h"
#include "actors/secret_service.h"
#include "backends/backend.h"
#include "events/clock.h"
#include "events/session.h"
#include "storage/commit_queue.h"
#include "storage/event_log.h"

namespace enclave {

// Finds the live actor of a stream id (16 bytes). Thread-safe: backends and HTTP threads look
// up, actors register and unregister themselves.
class Registry {
 public:
  void put(const std::string& id, caf::actor a) {
    std::unique_lock lock(mu_);
    map_[id] = std::move(a);
  }
  void erase(const std::string& id) {
    std::unique_lock lock(mu_);
    map_.erase(id);
  }
  caf::actor get(const std::string& id) const {
    std::shared_lock lock(mu_);
    auto it = map_.find(id);
    return it == map_.end() ? caf::actor{} : it->second;
  }
  std::vector<caf::actor> all() const {
    std::shared_lock lock(mu_);
    std::vector<caf::actor> out;
    for (auto& [k, v] : map_) out.push_back(v);
    return out;
  }
  size_t size() const {
    std::shared_lock lock(mu_);
    return map_.size();
  }

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, caf::actor> map_;
};

struct Context {
  storage::EventLog* log = nullptr;
  storage::CommitQueue* commits = nullptr;
  ReadModel* model = nullptr;
  Registry* registry = nullptr;
  CredentialStore* creds = nullptr;
  backends::Backend* backend = nullptr;
  caf::actor admission;
  caf::actor reaper;
  Clock clock;
  session::Policy policy;
  uint32_t max_concurrency = 8;
  // Checkpoint images: <snapshots_dir>/<session hex>/<snapshot id>/ (docs/PAUSE.md).
  std::string snapshots_dir;
  SecretService* secrets = nullptr;  // the orgs' secrets, for the egress proxy (may be null)
};

}  // namespace enclave
