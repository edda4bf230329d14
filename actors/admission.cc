#include "actors/admission.h"

#include <algorithm>

namespace enclave {

namespace {

uint32_t weight_of(const OrgLimits& l) { return std::max<uint32_t>(l.weight, 1); }

}  // namespace

AdmissionQueue::Org& AdmissionQueue::org(const std::string& name) { return orgs_[name]; }

bool AdmissionQueue::eligible(const Org& o) {
  return !o.fifo.empty() && (o.limits.max_live == 0 || o.live < o.limits.max_live);
}

bool AdmissionQueue::under_limit(const Org& o) const {
  return o.limits.max_live == 0 || o.live < o.limits.max_live;
}

void AdmissionQueue::join_round(Org& o) {
  if (o.in_round || !eligible(o)) return;
  o.in_round = true;
  if (round_.empty()) {
    o.pos = round_.insert(round_.end(), &o);
    turn_ = o.pos;
    credit_ = weight_of(o.limits);
    return;
  }
  o.pos = round_.insert(turn_, &o);  // just before the org being served: the end of the round
}

void AdmissionQueue::leave_round(Org& o) {
  if (!o.in_round) return;
  o.in_round = false;
  if (turn_ != o.pos) {
    round_.erase(o.pos);
    return;
  }
  turn_ = round_.erase(o.pos);
  if (turn_ == round_.end()) turn_ = round_.begin();
  credit_ = turn_ == round_.end() ? 0 : weight_of((*turn_)->limits);
}

void AdmissionQueue::next_turn() {
  if (++turn_ == round_.end()) turn_ = round_.begin();
  credit_ = weight_of((*turn_)->limits);
}

AdmissionQueue::Grant AdmissionQueue::grant(const std::string& id, Org& o, uint64_t ticket) {
  active_[id] = &o;
  ++o.live;
  return Grant{id, active(), ticket, next_grant_++};
}

AdmissionQueue::Grant AdmissionQueue::take_turn() {
  Org& o = **turn_;
  auto first = o.fifo.begin();
  uint64_t ticket = first->first;
  std::string id = std::move(first->second);
  o.fifo.erase(first);
  parked_.erase(id);
  Grant g = grant(id, o, ticket);
  if (!eligible(o)) {
    leave_round(o);
  } else if (--credit_ == 0) {
    next_turn();
  }
  return g;
}

void AdmissionQueue::set_limits(const std::string& name, OrgLimits limits) {
  Org& o = org(name);
  o.limits = limits;
  if (eligible(o))
    join_round(o);
  else
    leave_round(o);
}

std::variant<AdmissionQueue::Grant, AdmissionQueue::Parked> AdmissionQueue::enqueue(
    const std::string& id, const std::string& org_name, uint64_t ticket) {
  if (auto a = active_.find(id); a != active_.end())
    return Grant{id, active(), ticket, next_grant_++};
  Org& o = org(org_name);
  if (auto p = parked_.find(id); p != parked_.end())
    return Parked{waiting(), p->second.second, static_cast<uint32_t>(p->second.first->fifo.size())};
  if (ticket == 0) ticket = next_ticket_++;
  else next_ticket_ = std::max(next_ticket_, ticket + 1);
  if (round_.empty() && active() < ceiling_ && under_limit(o)) return grant(id, o, ticket);
  o.fifo.emplace(ticket, id);
  parked_.emplace(id, std::make_pair(&o, ticket));
  join_round(o);
  return Parked{waiting(), ticket, static_cast<uint32_t>(o.fifo.size())};
}

std::vector<AdmissionQueue::Grant> AdmissionQueue::release(const std::string& id) {
  if (auto a = active_.find(id); a != active_.end()) {
    Org& o = *a->second;
    active_.erase(a);
    --o.live;
    join_round(o);  // back in the round if max_live had held it out
  } else if (auto p = parked_.find(id); p != parked_.end()) {
    Org& o = *p->second.first;
    o.fifo.erase(p->second.second);
    parked_.erase(p);
    if (!eligible(o)) leave_round(o);
  }
  std::vector<Grant> out;
  while (!round_.empty() && active() < ceiling_) out.push_back(take_turn());
  return out;
}

void AdmissionQueue::restore(const std::vector<Holder>& active, uint64_t next_ticket,
                             uint64_t next_grant) {
  for (const auto& h : active) {
    if (active_.count(h.id)) continue;
    Org& o = org(h.org);
    active_[h.id] = &o;
    ++o.live;
    if (!eligible(o)) leave_round(o);
  }
  next_ticket_ = std::max(next_ticket_, next_ticket);
  next_grant_ = std::max(next_grant_, next_grant);
}

uint32_t AdmissionQueue::waiting(const std::string& name) const {
  auto it = orgs_.find(name);
  return it == orgs_.end() ? 0 : static_cast<uint32_t>(it->second.fifo.size());
}

uint32_t AdmissionQueue::live(const std::string& name) const {
  auto it = orgs_.find(name);
  return it == orgs_.end() ? 0 : it->second.live;
}

}  // namespace enclave
