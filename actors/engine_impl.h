// The engine's parts, as the facade's files (engine.cc, engine_reads.cc, recovery.cc) share
// them. Private to the facade: nothing outside those files includes this.
#pragma once

#include <caf/all.hpp>
#include <memory>
#include <string>

#include "actors/context.h"
#include "actors/engine_types.h"
#include "actors/key_service.h"
#include "actors/queued_quota.h"
#include "actors/read_model.h"
#include "actors/recovery.h"
#include "actors/secret_service.h"
#include "actors/storage_check.h"
#include "backends/backend.h"
#include "storage/commit_queue.h"
#include "storage/event_log.h"

namespace enclave {

struct EngineParts {
  EngineConfig config;
  std::unique_ptr<storage::EventLog> log;
  std::unique_ptr<ReadModel> model_ptr;
  ReadModel& model() { return *model_ptr; }
  std::unique_ptr<storage::CommitQueue> commits;
  std::unique_ptr<KeyService> keys;
  std::unique_ptr<SecretService> secrets;  // the orgs' secrets (actors/secret_service.h)
  Registry registry;
  std::unique_ptr<CredentialStore> creds;
  std::unique_ptr<QueuedQuota> queued_quota;  // orgs' max_queued, checked at create
  std::unique_ptr<StorageCheck> storage;      // new work refused on storage grounds
  std::unique_ptr<backends::Backend> backend;
  std::string backend_name;
  std::unique_ptr<caf::actor_system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  Context ctx;
  caf::actor wait_timer;  // completes `?wait=S` waiters whose time is up (session_wait.h)
  // Backend events that arrive while open() recovers wait here (recovery.h).
  EarlyEvents early;
};

}  // namespace enclave
