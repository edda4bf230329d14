// The checks of `enclave verify` that hold against whoever holds the data dir: the global index
// (contiguous seqs, each entry's hash equal to its event's, each event's own global seq), the
// Merkle tree rebuilt from the events' bytes against the stored tree, every snapshot against the
// fold of the events it claims, and every signed tree head given (its signature, and the root the
// events give at its size). An STH taken before a truncation, a deleted stream or a rewrite with
// recomputed hashes no longer matches, and says where.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/event_log.h"
#include "storage/sth.h"

namespace enclave::storage {

struct TreeHeadSource {
  TreeHead head;
  std::string origin;  // where it came from (a file name), for reports
};

struct TransparencyOptions {
  std::vector<TreeHeadSource> sths;     // from --sth / --anchor-dir
  std::optional<PublicKey> public_key;  // without one, signatures are not checked
};

struct TransparencyReport {
  bool ok = true;
  std::string stream_hex;
  uint64_t seq = 0;
  uint64_t global_seq = 0;  // where the first problem is in the global order, if there
  std::string problem;
  uint64_t leaves = 0, snapshots = 0, sths = 0;
  bool signatures_checked = false;
};

[[nodiscard]] TransparencyReport verify_transparency(const EventLog& log,
                                                     const TransparencyOptions& options);

// Reads every STH file of an anchor dir (*.json, each at most 64 KiB); errors name the file.
[[nodiscard]] Result<std::vector<TreeHeadSource>> read_anchor_dir(const std::string& dir);
[[nodiscard]] Result<TreeHeadSource> read_sth_file(const std::string& path);

}  // namespace enclave::storage
