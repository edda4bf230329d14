#include "actors/ended_cache.h"

namespace enclave {

namespace {

// Puts `value` at the front of the shared LRU in `map` (replacing an older entry), then evicts
// from the back of the LRU — from whichever map holds the evicted id.
template <typename Map, typename Other, typename V>
void lru_put(std::list<std::string>& lru, Map& map, Other& other, const std::string& id, V value,
             size_t capacity) {
  if (auto it = map.find(id); it != map.end()) {
    lru.erase(it->second.second);
    map.erase(it);
  }
  lru.push_front(id);
  map.emplace(id, std::make_pair(std::move(value), lru.begin()));
  while (lru.size() > capacity) {
    map.erase(lru.back());
    other.erase(lru.back());
    lru.pop_back();
  }
}

template <typename Map>
auto lru_get(std::list<std::string>& lru, Map& map, const std::string& id)
    -> std::optional<decltype(map.begin()->second.first)> {
  auto it = map.find(id);
  if (it == map.end()) return std::nullopt;
  lru.splice(lru.begin(), lru, it->second.second);
  return it->second.first;
}

}  // namespace

void EndedCache::put(const std::string& id, session::State s) {
  std::lock_guard lock(mu_);
  lru_put(lru_, sessions_, fleets_, id, std::move(s), kEntries);
}

void EndedCache::put(const std::string& id, fleet::State f) {
  std::lock_guard lock(mu_);
  lru_put(lru_, fleets_, sessions_, id, std::move(f), kEntries);
}

std::optional<session::State> EndedCache::session(const std::string& id) {
  std::lock_guard lock(mu_);
  return lru_get(lru_, sessions_, id);
}

std::optional<fleet::State> EndedCache::fleet(const std::string& id) {
  std::lock_guard lock(mu_);
  return lru_get(lru_, fleets_, id);
}

}  // namespace enclave
