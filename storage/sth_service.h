// The server's side of signed tree heads: signs an STH of the Merkle tree every interval when it
// grew and once at shutdown, writes each to the anchor dir (one JSON file per STH, for the
// operator to ship elsewhere), and answers proofs against them. Without a signing key the tree is
// still kept (verify checks it) but no STH exists: callers answer 404 signing_key_not_configured.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events/clock.h"
#include "storage/event_log.h"
#include "storage/sth.h"

namespace enclave::storage {

struct SthOptions {
  std::string anchor_dir;   // empty: STHs are not written anywhere
  int64_t interval_s = 10;  // an STH this often when the tree grew; 0: only on demand and at stop
  Clock clock = system_clock();
};

// One event of a stream with what proves it: its stored bytes and its inclusion proof.
struct EventProof {
  uint64_t seq = 0;
  uint64_t leaf_index = 0;
  std::string bytes;              // the stored event bytes
  std::vector<std::string> path;  // RFC 9162 inclusion proof, raw 32-byte hashes
};

class SthService {
 public:
  SthService(const EventLog& log, std::optional<SigningKey> key, SthOptions options);
  ~SthService();  // stops the timer; never signs (call stop() first for the final STH)

  // Starts the interval timer (a thread that waits on a condition variable).
  void start();
  // Stops the timer and signs a final STH if the tree grew since the last one. Call while the
  // log is still open (after the last append).
  void stop();
  // Signs (and anchors) an STH if the tree grew since the last one: what the timer does.
  void tick();

  bool signing() const { return key_.has_value(); }
  const PublicKey* public_key() const { return key_ ? &key_->public_key() : nullptr; }

  // The latest STH if it covers at least `min_size` leaves, else a fresh one of the whole tree.
  // kNotFound (signing_key_not_configured) without a key.
  [[nodiscard]] Result<TreeHead> current(uint64_t min_size = 0);
  // Consistency proof between two sizes of the tree (1 ≤ first ≤ second ≤ tree size);
  // kInvalidArgument naming `first` or `second`.
  [[nodiscard]] Result<std::vector<std::string>> consistency(uint64_t first, uint64_t second) const;
  // Inclusion proofs of a stream's events seq 1..count in the tree of `tree_size` leaves.
  [[nodiscard]] Result<std::vector<EventProof>> prove_stream(const std::string& stream,
                                                             uint64_t count,
                                                             uint64_t tree_size) const;

  // Where an STH of `th.tree_size` is written in the anchor dir.
  static std::string anchor_name(const TreeHead& th);

 private:
  Result<TreeHead> sign_now(bool anchor);  // mu_ held

  const EventLog& log_;
  std::optional<SigningKey> key_;
  SthOptions options_;
  std::mutex mu_;
  std::optional<TreeHead> latest_;
  uint64_t anchored_size_ = 0;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread timer_;
};

}  // namespace enclave::storage
