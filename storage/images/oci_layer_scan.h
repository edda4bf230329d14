// Reads an OCI image's layers (tar, optionally gzip-compressed) header by header BEFORE anything
// is unpacked, and refuses what an image Enclave runs must not hold. A layer is hostile input
// (`enclaved images import`): every size is bounded while it is decompressed, so a gzip bomb
// costs CPU, never disk or memory. Refused, naming the entry:
//   - paths with a `..` component; hard links whose target has one;
//   - an entry beneath a path an earlier entry (this layer or a lower one) made a symlink — the
//     way an archive writes outside the tree it is unpacked into;
//   - character and block devices, FIFOs, and entry types other than files, directories, links;
//   - a file over `max_file_bytes`, more than `max_total_bytes` in all, more than `max_entries`;
//   - a malformed header (bad checksum, size field or pax record).
// Symlinks themselves may point anywhere: inside the sandbox they resolve inside its root.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "events/error.h"

namespace enclave::images {

struct LayerLimits {
  uint64_t max_file_bytes = 1ull << 30;   // one file
  uint64_t max_total_bytes = 4ull << 30;  // every file of every layer
  uint64_t max_entries = 500000;          // entries of every layer
};

// What the layers scanned so far hold; one ScanState carries across an image's layers in order.
struct ScanState {
  std::set<std::string> symlinks;  // paths (normalised) that are symlinks now
  uint64_t total_bytes = 0;
  uint64_t entries = 0;
};

// `path` without leading "/" and "./", its empty and "." components dropped; nullopt when a
// component is "..". Pure.
std::optional<std::string> normalise_member_path(const std::string& path);

// Scans one layer blob at `file`; `gzip` when its media type says so. Errors name the layer
// (`what`) and the entry.
[[nodiscard]] std::optional<Error> scan_layer(const std::string& file, bool gzip,
                                              const std::string& what, const LayerLimits& limits,
                                              ScanState* state);

}  // namespace enclave::images
