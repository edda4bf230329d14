// The log's write lease (--ha): at most one leader at a time, judged by the store's clock. The
// holder of the live lease with the highest epoch is the only one whose appends the store takes
// (PgStore::set_epoch); a takeover bumps the epoch.
#pragma once

#include <cstdint>
#include <string>

#include "events/error.h"

namespace enclave::storage {

struct LeaseView {
  uint64_t epoch = 0;        // 0: nobody ever held it
  std::string holder;        // the holder's id (unique per process)
  std::string addr;          // where the holder serves the API (for 307s)
  bool mine = false;         // held by this process
  bool live = false;         // not expired, by the store's clock
  int64_t remaining_ms = 0;  // until it expires, by the store's clock (≤ 0: expired)
};

class Lease {
 public:
  virtual ~Lease() = default;
  // Takes the lease if it is free or expired (bumping its epoch) and says who holds it now.
  [[nodiscard]] virtual Result<LeaseView> try_acquire() = 0;
  // Extends this process's lease of `epoch` by the TTL from now (store clock). false: the epoch
  // moved (another process took over) — the caller must stop at once.
  [[nodiscard]] virtual Result<bool> renew(uint64_t epoch) = 0;
  // Lets the lease of `epoch` expire now (clean shutdown), so a standby takes over at once.
  virtual void release(uint64_t epoch) = 0;
};

}  // namespace enclave::storage
