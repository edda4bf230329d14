// RFC 9162 §2.1 Merkle tree math over the log's global order, pure (no I/O): hashing, roots,
// inclusion and consistency proofs, and their verification. Leaf i is the event of global seq
// i + 1; leaf hash = SHA-256(0x00 ‖ stored event bytes), node = SHA-256(0x01 ‖ left ‖ right).
// Hashes are 32 raw bytes in std::string.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "events/error.h"

namespace enclave::storage::merkle {

std::string leaf_hash(std::string_view event_bytes);
std::string node_hash(std::string_view left, std::string_view right);
// The root of the empty tree: SHA-256 of nothing.
std::string empty_root();

// Where proofs read from: the hash of the perfect subtree of 2^level leaves starting at leaf
// index << level (level 0: a leaf hash). Only asked for subtrees inside the tree size given.
using NodeSource = std::function<Result<std::string>(unsigned level, uint64_t index)>;

// MTH(D[lo:hi]) for a range reached by RFC 9162's recursion (lo a multiple of the largest power
// of two ≥ hi − lo, which holds for every range a root or a proof needs). O(log n) node reads.
[[nodiscard]] Result<std::string> subtree_hash(uint64_t lo, uint64_t hi, const NodeSource& nodes);
// The root of the first `size` leaves.
[[nodiscard]] Result<std::string> root(uint64_t size, const NodeSource& nodes);
// PATH(index, D[0:size]) (§2.1.3.1), leaf end first. kInvalidArgument if index ≥ size.
[[nodiscard]] Result<std::vector<std::string>> inclusion_proof(uint64_t index, uint64_t size,
                                                               const NodeSource& nodes);
// PROOF(first, D[0:second]) (§2.1.4.1). kInvalidArgument unless 0 < first ≤ second.
[[nodiscard]] Result<std::vector<std::string>> consistency_proof(uint64_t first, uint64_t second,
                                                                 const NodeSource& nodes);

// §2.1.3.2: whether `proof` shows leaf `leaf` at `index` in the tree of `size` with `root`.
bool verify_inclusion(uint64_t index, uint64_t size, std::string_view leaf,
                      const std::vector<std::string>& proof, std::string_view root);
// §2.1.4.2: whether `proof` shows the tree of `first` leaves (root `first_root`) is a prefix of
// the tree of `second` leaves (root `second_root`).
bool verify_consistency(uint64_t first, uint64_t second, std::string_view first_root,
                        std::string_view second_root, const std::vector<std::string>& proof);

// The largest power of two strictly below n (n ≥ 2).
uint64_t split_point(uint64_t n);

}  // namespace enclave::storage::merkle
