#include "storage/merkle_tree.h"

#include <openssl/evp.h>

#include <memory>
#include <optional>

#include "storage/event_log.h"

namespace enclave::storage::merkle {

namespace {

// SHA-256 over a one-byte prefix and up to two parts, without copying them into one buffer.
std::string prefixed_sha256(char prefix, std::string_view a, std::string_view b = {}) {
  return sha256({std::string_view(&prefix, 1), a, b});
}

bool is_power_of_two(uint64_t n) { return n && !(n & (n - 1)); }

unsigned log2_exact(uint64_t n) {
  unsigned l = 0;
  while ((uint64_t{1} << l) < n) ++l;
  return l;
}

Error bad(const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "invalid_argument", what);
}

// PATH(m, D[lo:hi]) appended to `out`, leaf end first.
std::optional<Error> path(uint64_t m, uint64_t lo, uint64_t hi, const NodeSource& nodes,
                          std::vector<std::string>& out) {
  const uint64_t n = hi - lo;
  if (n <= 1) return std::nullopt;
  const uint64_t k = split_point(n);
  Result<std::string> sibling = std::string();
  if (m < k) {
    if (auto e = path(m, lo, lo + k, nodes, out)) return e;
    sibling = subtree_hash(lo + k, hi, nodes);
  } else {
    if (auto e = path(m - k, lo + k, hi, nodes, out)) return e;
    sibling = subtree_hash(lo, lo + k, nodes);
  }
  if (!sibling) return sibling.error();
  out.push_back(std::move(*sibling));
  return std::nullopt;
}

// SUBPROOF(m, D[lo:hi], b) appended to `out`.
std::optional<Error> subproof(uint64_t m, uint64_t lo, uint64_t hi, bool whole,
                              const NodeSource& nodes, std::vector<std::string>& out) {
  const uint64_t n = hi - lo;
  if (m == n) {
    if (whole) return std::nullopt;
    auto h = subtree_hash(lo, hi, nodes);
    if (!h) return h.error();
    out.push_back(std::move(*h));
    return std::nullopt;
  }
  const uint64_t k = split_point(n);
  Result<std::string> sibling = std::string();
  if (m <= k) {
    if (auto e = subproof(m, lo, lo + k, whole, nodes, out)) return e;
    sibling = subtree_hash(lo + k, hi, nodes);
  } else {
    if (auto e = subproof(m - k, lo + k, hi, false, nodes, out)) return e;
    sibling = subtree_hash(lo, lo + k, nodes);
  }
  if (!sibling) return sibling.error();
  out.push_back(std::move(*sibling));
  return std::nullopt;
}

}  // namespace

std::string leaf_hash(std::string_view event_bytes) { return prefixed_sha256('\0', event_bytes); }

std::string node_hash(std::string_view left, std::string_view right) {
  return prefixed_sha256('\1', left, right);
}

std::string empty_root() { return sha256(""); }

uint64_t split_point(uint64_t n) {
  uint64_t k = 1;
  while (k < n - k) k <<= 1;  // largest power of two < n
  return k;
}

Result<std::string> subtree_hash(uint64_t lo, uint64_t hi, const NodeSource& nodes) {
  const uint64_t n = hi - lo;
  if (hi <= lo) return bad("empty subtree");
  if (is_power_of_two(n) && lo % n == 0) {
    const unsigned level = log2_exact(n);
    return nodes(level, lo >> level);
  }
  const uint64_t k = split_point(n);
  auto left = subtree_hash(lo, lo + k, nodes);
  if (!left) return left.error();
  auto right = subtree_hash(lo + k, hi, nodes);
  if (!right) return right.error();
  return node_hash(*left, *right);
}

Result<std::string> root(uint64_t size, const NodeSource& nodes) {
  if (size == 0) return empty_root();
  return subtree_hash(0, size, nodes);
}

Result<std::vector<std::string>> inclusion_proof(uint64_t index, uint64_t size,
                                                 const NodeSource& nodes) {
  if (index >= size)
    return bad("leaf " + std::to_string(index) + " is not in a tree of " + std::to_string(size));
  std::vector<std::string> out;
  if (auto e = path(index, 0, size, nodes, out)) return *e;
  return out;
}

Result<std::vector<std::string>> consistency_proof(uint64_t first, uint64_t second,
                                                   const NodeSource& nodes) {
  if (first == 0 || first > second)
    return bad("a consistency proof needs 0 < first ≤ second (got " + std::to_string(first) + ", " +
               std::to_string(second) + ")");
  std::vector<std::string> out;
  if (auto e = subproof(first, 0, second, true, nodes, out)) return *e;
  return out;
}

bool verify_inclusion(uint64_t index, uint64_t size, std::string_view leaf,
                      const std::vector<std::string>& proof, std::string_view root_hash) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  std::string r(leaf);
  for (const auto& p : proof) {
    if (sn == 0 || p.size() != 32) return false;
    if ((fn & 1) || fn == sn) {
      r = node_hash(p, r);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root_hash;
}

bool verify_consistency(uint64_t first, uint64_t second, std::string_view first_root,
                        std::string_view second_root, const std::vector<std::string>& proof) {
  if (first == second) return proof.empty() && first_root == second_root;
  if (first == 0 || first > second || proof.empty()) return false;
  std::vector<std::string> p;
  if (is_power_of_two(first)) p.emplace_back(first_root);
  p.insert(p.end(), proof.begin(), proof.end());
  for (const auto& h : p)
    if (h.size() != 32) return false;
  uint64_t fn = first - 1, sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = p[0], sr = p[0];
  for (size_t i = 1; i < p.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = node_hash(p[i], fr);
      sr = node_hash(p[i], sr);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      sr = node_hash(sr, p[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_root && sr == second_root && sn == 0;
}

}  // namespace enclave::storage::merkle
