// The event log behind a store of record (storage/log_store.h): rows another writer committed
// are taken through the same staging as an append, so the local copy's bytes, chains, global
// order and Merkle tree are the ones the writer computed — checked row by row.
#include "events/ids.h"
#include "storage/event_log.h"

namespace enclave::storage {

void EventLog::set_store(LogStore* store) {
  std::lock_guard lock(mu_);
  store_ = store;
}

Result<std::vector<Stored>> EventLog::replicate(const std::vector<LogRow>& rows) {
  if (rows.empty()) return std::vector<Stored>{};
  // Consecutive rows of one stream are one Append; the order of the rows is kept, so staging
  // gives them the global seqs the writer gave them.
  std::vector<Append> appends;
  for (const auto& row : rows) {
    events::Envelope e;
    if (row.stream.size() != 16 || !e.ParseFromString(row.bytes) || e.stream() != row.stream ||
        e.seq() != row.seq)
      return make_error(ErrorCode::kInternal, "store_diverged",
                        "the store's row at global seq " + std::to_string(row.gseq) +
                            " is not a readable event of the stream and seq it is filed under");
    if (appends.empty() || appends.back().stream != row.stream) {
      auto h = head(row.stream);
      uint64_t expected = h ? h->seq : 0;
      for (auto it = appends.rbegin(); it != appends.rend(); ++it)
        if (it->stream == row.stream) {
          expected = it->expected_seq + it->events.size();
          break;
        }
      appends.push_back({row.stream, expected, {}});
    }
    appends.back().events.push_back(std::move(e));
  }
  if (rows.front().gseq != last_global_seq() + 1)
    return make_error(ErrorCode::kInternal, "store_diverged",
                      "the store's next row has global seq " + std::to_string(rows.front().gseq) +
                          "; this log ends at " + std::to_string(last_global_seq()));
  auto r = write_group({appends}, false, false);
  auto& taken = r.front();
  if (!taken) return taken.error();
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& s = taken.value()[i];
    if (s.hash != rows[i].hash || s.global_seq != rows[i].gseq)
      return make_error(ErrorCode::kInternal, "store_diverged",
                        "the store's event at global seq " + std::to_string(rows[i].gseq) +
                            " (stream " + to_hex(rows[i].stream) +
                            ") does not hash to what the store says");
  }
  return std::move(taken.value());
}

Result<uint64_t> EventLog::catch_up_from(
    LogStore& store, const std::function<void(const std::vector<Stored>&)>& on_events,
    size_t page) {
  uint64_t n = 0;
  for (;;) {
    auto rows = store.read_after(last_global_seq(), page);
    if (!rows) return rows.error();
    if (rows->empty()) return n;
    auto taken = replicate(*rows);
    if (!taken) return taken.error();
    n += taken->size();
    if (on_events) on_events(*taken);
    if (rows->size() < page) return n;
  }
}

}  // namespace enclave::storage
