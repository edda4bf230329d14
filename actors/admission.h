// The admission queue as a plain class (no actor, no clock): a bounded number of slots and a
// FIFO of waiting sessions. The admission actor wraps it; tests drive it directly.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace enclave {

class AdmissionQueue {
 public:
  explicit AdmissionQueue(uint32_t ceiling) : ceiling_(ceiling) {}

  struct Grant {
    std::string id;
    uint32_t active;  // slots in use including this one
    uint64_t ticket, grant;
  };
  struct Parked {
    uint32_t queued;  // sessions waiting, this one included
    uint64_t ticket;
  };

  // A session asks for a slot. `ticket` 0 = a new arrival (gets the next ticket); a restored
  // session passes its recorded ticket. Granted at once only if a slot is free and nobody waits.
  std::variant<Grant, Parked> enqueue(const std::string& id, uint64_t ticket = 0);

  // A session gives its slot back (or leaves the queue). Returns the sessions now granted, in
  // FIFO order. Unknown ids are ignored.
  std::vector<Grant> release(const std::string& id);

  // After a restart: these sessions hold slots already; tickets and grants continue from here.
  void restore(const std::vector<std::string>& active, uint64_t next_ticket, uint64_t next_grant);

  uint32_t active() const { return static_cast<uint32_t>(active_.size()); }
  uint32_t waiting() const { return static_cast<uint32_t>(queue_.size()); }
  uint32_t ceiling() const { return ceiling_; }

 private:
  Grant grant(std::string id, uint64_t ticket);

  uint32_t ceiling_;
  std::set<std::string> active_;
  std::deque<std::pair<std::string, uint64_t>> queue_;  // id, ticket
  uint64_t next_ticket_ = 1, next_grant_ = 1;
};

}  // namespace enclave
