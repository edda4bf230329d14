// The admission queue as a plain class (no actor, no clock): one global ceiling of slots, one
// FIFO per org (ordered by ticket), and the orgs that have someone waiting served round-robin,
// `weight` grants per turn. The admission actor wraps it; tests drive it directly.
//
// Fairness contract: an org that starts waiting joins the round at its end (just before the org
// being served), so it is granted a slot after at most one turn of every other waiting org —
// with every weight 1, after at most (waiting orgs) releases, however long their queues are.
// An org at its `max_live` leaves the round until one of its slots is given back.
// Cost: O(1) per enqueue, release and grant (amortised; hashing the id), except a restored
// ticket older than its org's newest, which is placed by binary search and an insert.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace enclave {

// An org's share of admission.
struct OrgLimits {
  uint32_t weight = 1;    // grants per round-robin turn; 0 is read as 1
  uint32_t max_live = 0;  // slots the org may hold at once; 0: only the global ceiling
};

class AdmissionQueue {
 public:
  explicit AdmissionQueue(uint32_t ceiling) : ceiling_(ceiling) {}
  AdmissionQueue(const AdmissionQueue&) = delete;  // the round points into its own orgs
  AdmissionQueue& operator=(const AdmissionQueue&) = delete;

  struct Grant {
    std::string id;
    uint32_t active;  // slots in use including this one
    uint64_t ticket, grant;
  };
  struct Parked {
    uint32_t queued;  // sessions waiting (all orgs), this one included
    uint64_t ticket;
    uint32_t org_queued;  // sessions of the same org waiting, this one included
  };
  struct Holder {  // a session holding a slot after a restart
    std::string id, org;
  };

  // Sets an org's weight and live limit. Takes effect from the next grant.
  void set_limits(const std::string& org, OrgLimits limits);

  // A session of `org` asks for a slot. `ticket` 0 = a new arrival (gets the next ticket); a
  // restored session passes its recorded ticket, and takes its place in its org's FIFO by that
  // ticket. Granted at once only if a slot is free, no org is waiting its turn and the org is
  // below its max_live. Asking again while parked changes nothing.
  std::variant<Grant, Parked> enqueue(const std::string& id, const std::string& org = {},
                                      uint64_t ticket = 0);

  // A slot for `id` now, only if enqueue() would grant it at once (a slot free, no org waiting
  // its turn, the org below max_live); otherwise nothing changes and nullopt is returned — the
  // caller enqueues later. A fleet asks this for its members before its creating commit.
  std::optional<Grant> grant_now(const std::string& id, const std::string& org = {});

  // A session gives its slot back (or leaves the queue). Returns the sessions now granted, in
  // grant order. Unknown ids are ignored.
  std::vector<Grant> release(const std::string& id);

  // After a restart: these sessions hold slots already; tickets and grants continue from here.
  void restore(const std::vector<Holder>& active, uint64_t next_ticket, uint64_t next_grant);

  uint32_t active() const { return active_; }
  uint32_t waiting() const { return waiting_; }
  uint32_t ceiling() const { return ceiling_; }
  uint32_t waiting(const std::string& org) const;
  uint32_t live(const std::string& org) const;

 private:
  struct Org {
    // Waiting sessions by ticket (ticket, id). Arrivals come in ticket order, so this is a
    // deque appended at the back; a withdrawn session stays as a stale entry (its id is no
    // longer parked with that ticket) and is skipped when it reaches the front.
    std::deque<std::pair<uint64_t, std::string>> fifo;
    uint32_t waiting = 0;  // live entries of fifo
    uint32_t live = 0;
    OrgLimits limits;
    bool in_round = false;
    std::list<Org*>::iterator pos;  // in round_, while in_round
  };
  struct Entry {
    Org* org;
    uint64_t ticket;
    bool holding;  // a slot; otherwise parked in org->fifo
  };

  Org& org(const std::string& name);
  static bool eligible(const Org& o);
  static bool under_limit(const Org& o);
  void join_round(Org& o);   // if eligible and not in it: at the end of the round
  void leave_round(Org& o);  // if in it; the turn passes on when it was this org's
  void next_turn();
  Grant take_turn();  // round_ not empty
  void park(Org& o, const std::string& id, uint64_t ticket);

  uint32_t ceiling_;
  std::unordered_map<std::string, Org> orgs_;        // nodes are stable: round_ points into them
  std::unordered_map<std::string, Entry> sessions_;  // every session holding a slot or parked
  uint32_t active_ = 0, waiting_ = 0;
  std::list<Org*> round_;  // orgs with someone waiting and room under max_live
  std::list<Org*>::iterator turn_ = round_.end();  // the org being served
  uint32_t credit_ = 0;                            // grants left in its turn
  uint64_t next_ticket_ = 1, next_grant_ = 1;
};

}  // namespace enclave
