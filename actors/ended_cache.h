// The read model's cache of ended work recently read or ended: torn-down sessions and fleets
// with no live member, one bounded LRU shared by both. Thread-safe.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "events/fleet.h"
#include "events/session.h"

namespace enclave {

class EndedCache {
 public:
  static constexpr size_t kEntries = 20'000;

  // Puts the state at the front (replacing an older entry for `id`), evicting the oldest.
  void put(const std::string& id, session::State s);
  void put(const std::string& id, fleet::State f);
  // The cached state (moved to the front), or nullopt.
  std::optional<session::State> session(const std::string& id);
  std::optional<fleet::State> fleet(const std::string& id);

 private:
  std::mutex mu_;
  std::list<std::string> lru_;
  std::unordered_map<std::string, std::pair<session::State, std::list<std::string>::iterator>>
      sessions_;
  std::unordered_map<std::string, std::pair<fleet::State, std::list<std::string>::iterator>>
      fleets_;
};

}  // namespace enclave
