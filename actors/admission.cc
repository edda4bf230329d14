#include "actors/admission.h"

#include <algorithm>

namespace enclave {

AdmissionQueue::Grant AdmissionQueue::grant(std::string id, uint64_t ticket) {
  active_.insert(id);
  return Grant{std::move(id), active(), ticket, next_grant_++};
}

std::variant<AdmissionQueue::Grant, AdmissionQueue::Parked> AdmissionQueue::enqueue(
    const std::string& id, uint64_t ticket) {
  if (ticket == 0) ticket = next_ticket_++;
  else next_ticket_ = std::max(next_ticket_, ticket + 1);
  if (active_.count(id)) return Grant{id, active(), ticket, next_grant_++};
  if (queue_.empty() && active() < ceiling_) return grant(id, ticket);
  queue_.emplace_back(id, ticket);
  return Parked{waiting(), ticket};
}

std::vector<AdmissionQueue::Grant> AdmissionQueue::release(const std::string& id) {
  if (!active_.erase(id)) {
    auto it = std::find_if(queue_.begin(), queue_.end(), [&](auto& q) { return q.first == id; });
    if (it != queue_.end()) queue_.erase(it);
  }
  std::vector<Grant> out;
  while (!queue_.empty() && active() < ceiling_) {
    auto [next, ticket] = std::move(queue_.front());
    queue_.pop_front();
    out.push_back(grant(std::move(next), ticket));
  }
  return out;
}

void AdmissionQueue::restore(const std::vector<std::string>& active, uint64_t next_ticket,
                             uint64_t next_grant) {
  for (const auto& id : active) active_.insert(id);
  next_ticket_ = std::max(next_ticket_, next_ticket);
  next_grant_ = std::max(next_grant_, next_grant);
}

}  // namespace enclave
