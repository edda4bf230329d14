#include "actors/admission.h"

#include <algorithm>

namespace enclave {

namespace {

uint32_t weight_of(const OrgLimits& l) { return std::max<uint32_t>(l.weight, 1); }

}  // namespace

AdmissionQueue::Org& AdmissionQueue::org(const std::string& name) { return orgs_[name]; }

bool AdmissionQueue::eligible(const Org& o) { return o.waiting > 0 && under_limit(o); }

bool AdmissionQueue::under_limit(const Org& o) {
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

void AdmissionQueue::park(Org& o, const std::string& id, uint64_t ticket) {
  if (o.fifo.empty() || o.fifo.back().first < ticket) {
    o.fifo.emplace_back(ticket, id);
  } else {  // a restored ticket older than the org's newest: keep the FIFO in ticket order
    auto at = std::lower_bound(o.fifo.begin(), o.fifo.end(), ticket,
                               [](const auto& e, uint64_t t) { return e.first < t; });
    o.fifo.emplace(at, ticket, id);
  }
  sessions_.emplace(id, Entry{&o, ticket, false});
  ++o.waiting;
  ++waiting_;
  join_round(o);
}

AdmissionQueue::Grant AdmissionQueue::take_turn() {
  Org& o = **turn_;
  for (;;) {  // skip the stale entries of withdrawn sessions
    auto& [ticket, id] = o.fifo.front();
    auto it = sessions_.find(id);
    if (it != sessions_.end() && !it->second.holding && it->second.ticket == ticket) {
      it->second.holding = true;
      break;
    }
    o.fifo.pop_front();
  }
  Grant g{std::move(o.fifo.front().second), 0, o.fifo.front().first, next_grant_++};
  o.fifo.pop_front();
  --o.waiting;
  --waiting_;
  ++o.live;
  g.active = ++active_;
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
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    const Entry& e = it->second;
    if (e.holding) return Grant{id, active(), ticket, next_grant_++};
    return Parked{waiting(), e.ticket, e.org->waiting};  // asking again changes nothing
  }
  Org& o = org(org_name);
  if (ticket == 0)
    ticket = next_ticket_++;
  else
    next_ticket_ = std::max(next_ticket_, ticket + 1);
  if (round_.empty() && active() < ceiling_ && under_limit(o)) {
    sessions_.emplace(id, Entry{&o, ticket, true});
    ++o.live;
    return Grant{id, ++active_, ticket, next_grant_++};
  }
  park(o, id, ticket);
  return Parked{waiting(), ticket, o.waiting};
}

std::optional<AdmissionQueue::Grant> AdmissionQueue::grant_now(const std::string& id,
                                                               const std::string& org_name) {
  if (sessions_.count(id) != 0) return std::nullopt;  // already known: its own answer stands
  Org& o = org(org_name);
  if (!round_.empty() || active() >= ceiling_ || !under_limit(o)) return std::nullopt;
  const uint64_t ticket = next_ticket_++;
  sessions_.emplace(id, Entry{&o, ticket, true});
  ++o.live;
  return Grant{id, ++active_, ticket, next_grant_++};
}

std::vector<AdmissionQueue::Grant> AdmissionQueue::release(const std::string& id) {
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    Entry e = it->second;
    sessions_.erase(it);
    Org& o = *e.org;
    if (e.holding) {
      --active_;
      --o.live;
      join_round(o);  // back in the round if max_live had held it out
    } else {          // withdrawn: its fifo entry goes stale
      --o.waiting;
      --waiting_;
      if (o.waiting == 0) {
        o.fifo.clear();
        leave_round(o);
      }
    }
  }
  std::vector<Grant> out;
  while (!round_.empty() && active() < ceiling_) out.push_back(take_turn());
  return out;
}

void AdmissionQueue::restore(const std::vector<Holder>& active, uint64_t next_ticket,
                             uint64_t next_grant) {
  for (const auto& h : active) {
    if (sessions_.count(h.id)) continue;
    Org& o = org(h.org);
    sessions_.emplace(h.id, Entry{&o, 0, true});
    ++o.live;
    ++active_;
    if (!eligible(o)) leave_round(o);
  }
  next_ticket_ = std::max(next_ticket_, next_ticket);
  next_grant_ = std::max(next_grant_, next_grant);
}

uint32_t AdmissionQueue::waiting(const std::string& name) const {
  auto it = orgs_.find(name);
  return it == orgs_.end() ? 0 : it->second.waiting;
}

uint32_t AdmissionQueue::live(const std::string& name) const {
  auto it = orgs_.find(name);
  return it == orgs_.end() ? 0 : it->second.live;
}

}  // namespace enclave
