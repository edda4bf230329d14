// Recovery at open: every session that is not torn down gets its actor back (re-attached to
// its sandbox if the backend can adopt it, else ended), fleets with a live member too, the
// admission queue is rebuilt in ticket order, and backend events that arrived meanwhile are
// delivered after each actor got its Recover message.
#pragma once

#include <atomic>
#include <caf/all.hpp>
#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "actors/context.h"
#include "backends/backend.h"

namespace enclave {

// Backend events that arrive while open() recovers — an adopting backend reports what its
// sandboxes did while the control plane was down before the session actors exist — wait here
// and are delivered, in order, right after each actor got its Recover message. Thread-safe.
class EarlyEvents {
 public:
  // The backend's sink: holds `ev` while recovering (true), else leaves it to the caller (false).
  bool hold(const std::string& id, backends::Event& ev);
  // Sends what was held to the registered actors, in order; from then on nothing is held.
  void release(const Registry& registry);

 private:
  std::atomic<bool> recovering_{true};
  std::mutex mu_;
  std::vector<std::pair<std::string, backends::Event>> held_;
};

// What recovery found, for the open log line.
struct RecoveryStats {
  size_t live = 0, holding_slot = 0, reattached = 0, queued = 0;
};

// Spawns the actors of the model's live work into `ctx` (its admission actor already running)
// and cleans up the backend's orphans. Call once, before any command.
RecoveryStats recover(caf::actor_system& sys, Context& ctx, EarlyEvents& early);

}  // namespace enclave
