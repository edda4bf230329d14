// The Merkle tree of the global order against an in-test reference written from RFC 9162 §2.1's
// recursive definitions over a plain list of leaves (MTH, PATH, SUBPROOF), independent of the
// tiled store: roots at every size across tile boundaries, every inclusion proof, consistency
// proofs, the tree reopened from disk, and signed tree heads.
#define BOOST_TEST_MODULE merkle
#include <openssl/sha.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "events/ids.h"
#include "storage/event_log.h"
#include "storage/merkle_store.h"
#include "storage/merkle_tree.h"
#include "storage/sth.h"
#include "storage/sth_service.h"
#include "tests/support/envelopes.h"
#include "tests/support/temp_dir.h"

using namespace enclave;
using namespace enclave::storage;
using enclave::test::ev;

namespace {

// ---- the reference: RFC 9162 §2.1 verbatim, over a vector of leaf inputs -------------------
std::string H(const std::string& bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}
using Leaves = std::vector<std::string>;  // the leaves' inputs (event bytes)
Leaves slice(const Leaves& d, size_t lo, size_t hi) {
  return Leaves(d.begin() + lo, d.begin() + hi);
}
size_t k_of(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
std::string MTH(const Leaves& d) {
  if (d.empty()) return H("");
  if (d.size() == 1) return H(std::string(1, '\0') + d[0]);
  size_t k = k_of(d.size());
  return H(std::string(1, '\1') + MTH(slice(d, 0, k)) + MTH(slice(d, k, d.size())));
}
Leaves PATH(size_t m, const Leaves& d) {
  if (d.size() <= 1) return {};
  size_t k = k_of(d.size());
  Leaves out;
  if (m < k) {
    out = PATH(m, slice(d, 0, k));
    out.push_back(MTH(slice(d, k, d.size())));
  } else {
    out = PATH(m - k, slice(d, k, d.size()));
    out.push_back(MTH(slice(d, 0, k)));
  }
  return out;
}
Leaves SUBPROOF(size_t m, const Leaves& d, bool b) {
  if (m == d.size()) return b ? Leaves{} : Leaves{MTH(d)};
  size_t k = k_of(d.size());
  Leaves out;
  if (m <= k) {
    out = SUBPROOF(m, slice(d, 0, k), b);
    out.push_back(MTH(slice(d, k, d.size())));
  } else {
    out = SUBPROOF(m - k, slice(d, k, d.size()), false);
    out.push_back(MTH(slice(d, 0, k)));
  }
  return out;
}

// Appends `n` events (one per append, two streams interleaved) and returns every leaf's input:
// the stored bytes in global order.
Leaves fill(EventLog& log, size_t n) {
  const std::string a = new_stream_id(), b = new_stream_id();
  uint64_t sa = 0, sb = 0;
  for (size_t i = 0; i < n; ++i) {
    bool first = i % 3 != 2;
    const std::string& s = first ? a : b;
    uint64_t& seq = first ? sa : sb;
    auto r = log.append({Append{s, seq, {ev(s, seq + 1)}}}, false);
    BOOST_REQUIRE(r.ok());
    ++seq;
  }
  Leaves out;
  BOOST_REQUIRE(log.scan_global_raw(1,
                                    [&](uint64_t, std::string_view, uint64_t, std::string_view,
                                        std::string_view bytes) {
                                      out.emplace_back(bytes);
                                      return true;
                                    })
                    .ok());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transparency)

BOOST_AUTO_TEST_CASE(hashing_is_rfc9162) {
  // Known values: the empty tree is SHA-256(""); a leaf and a node carry their domain byte.
  BOOST_CHECK_EQUAL(to_hex(merkle::empty_root()),
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_CHECK_EQUAL(to_hex(merkle::leaf_hash("")),
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  BOOST_CHECK(merkle::leaf_hash("x") == H(std::string("\0x", 2)));
  BOOST_CHECK(merkle::node_hash("l", "r") == H("\1lr"));
  // split_point is the largest power of two below n
  const std::pair<uint64_t, uint64_t> table[] = {{2, 1}, {3, 2}, {4, 2},     {5, 4},
                                                 {8, 4}, {9, 8}, {1000, 512}};
  for (auto [n, k] : table) BOOST_CHECK_EQUAL(merkle::split_point(n), k);
}

BOOST_AUTO_TEST_CASE(roots_and_proofs_match_the_reference_at_every_size) {
  TempDir dir;
  auto log = EventLog::open(dir.path(), OpenMode::kReadWrite);
  BOOST_REQUIRE(log.ok());
  // 300 leaves: past a level-0 tile (16) and a level-4 tile (256).
  Leaves d = fill(**log, 300);
  const auto* m = (*log)->merkle();
  BOOST_REQUIRE(m);
  BOOST_CHECK_EQUAL(m->size(), 300u);
  for (size_t n = 1; n <= d.size(); ++n) {
    Leaves prefix = slice(d, 0, n);
    auto root = m->root(n);
    BOOST_REQUIRE(root.ok());
    BOOST_REQUIRE_MESSAGE(*root == MTH(prefix), "root at size " << n);
    // every leaf for small trees; a spread of leaves for larger ones
    for (size_t i = 0; i < n; i += (n <= 40 ? 1 : 7)) {
      auto p = m->inclusion_proof(i, n);
      BOOST_REQUIRE(p.ok());
      BOOST_REQUIRE_MESSAGE(*p == PATH(i, prefix), "inclusion " << i << " of " << n);
      BOOST_CHECK(merkle::verify_inclusion(i, n, merkle::leaf_hash(d[i]), *p, *root));
    }
  }
  for (size_t first : {1, 2, 3, 7, 16, 17, 100, 255, 256, 257, 299, 300}) {
    for (size_t second : {first, first + 1, size_t{257}, size_t{300}}) {
      if (second < first || second > 300) continue;
      auto p = m->consistency_proof(first, second);
      BOOST_REQUIRE(p.ok());
      BOOST_REQUIRE_MESSAGE(*p == SUBPROOF(first, slice(d, 0, second), true),
                            "consistency " << first << " → " << second);
      BOOST_CHECK(merkle::verify_consistency(first, second, MTH(slice(d, 0, first)),
                                             MTH(slice(d, 0, second)), *p));
    }
  }
  // A proof against the wrong root or for another leaf does not verify.
  auto p = m->inclusion_proof(5, 300);
  BOOST_CHECK(!merkle::verify_inclusion(6, 300, merkle::leaf_hash(d[5]), *p, MTH(d)));
  BOOST_CHECK(!merkle::verify_inclusion(5, 300, merkle::leaf_hash(d[6]), *p, MTH(d)));
  BOOST_CHECK(!m->inclusion_proof(300, 300).ok());
  BOOST_CHECK(!m->consistency_proof(0, 5).ok());
  BOOST_CHECK(!m->consistency_proof(6, 5).ok());
}

BOOST_AUTO_TEST_CASE(the_tree_survives_reopening_and_grows_on) {
  TempDir dir;
  Leaves d;
  {
    auto log = EventLog::open(dir.path(), OpenMode::kReadWrite);
    BOOST_REQUIRE(log.ok());
    d = fill(**log, 37);
  }
  {
    auto log = EventLog::open(dir.path(), OpenMode::kReadWrite);
    BOOST_REQUIRE(log.ok());
    BOOST_CHECK_EQUAL((*log)->merkle()->size(), 37u);
    d = fill(**log, 30);  // 67 in all, the right edge read back from disk
    BOOST_REQUIRE_EQUAL(d.size(), 67u);
    BOOST_CHECK(*(*log)->merkle()->root(67) == MTH(d));
    BOOST_CHECK(*(*log)->merkle()->root(37) == MTH(slice(d, 0, 37)));
  }
  auto ro = EventLog::open(dir.path(), OpenMode::kReadOnly);
  BOOST_REQUIRE(ro.ok());
  BOOST_CHECK(*(*ro)->merkle()->root(67) == MTH(d));
}

BOOST_AUTO_TEST_CASE(a_group_commit_with_a_conflict_leaves_only_the_good_leaves) {
  TempDir dir;
  auto log = EventLog::open(dir.path(), OpenMode::kReadWrite);
  BOOST_REQUIRE(log.ok());
  const std::string a = new_stream_id(), b = new_stream_id();
  auto r = (*log)->append_group({{Append{a, 0, {ev(a, 1), ev(a, 2)}}},
                                 {Append{b, 5, {ev(b, 6)}}},  // conflict: b is empty
                                 {Append{b, 0, {ev(b, 1)}}}});
  BOOST_CHECK(r[0].ok() && !r[1].ok() && r[2].ok());
  Leaves d;
  BOOST_REQUIRE((*log)
                    ->scan_global_raw(1,
                                      [&](uint64_t, std::string_view, uint64_t, std::string_view,
                                          std::string_view bytes) {
                                        d.emplace_back(bytes);
                                        return true;
                                      })
                    .ok());
  BOOST_REQUIRE_EQUAL(d.size(), 3u);
  BOOST_CHECK_EQUAL((*log)->merkle()->size(), 3u);
  BOOST_CHECK(*(*log)->merkle()->root(3) == MTH(d));
}

BOOST_AUTO_TEST_CASE(signed_tree_heads_verify_and_reject_forgeries) {
  TempDir dir, keys;
  const std::string key_file = keys.path() + "/k.pem";
  BOOST_REQUIRE(SigningKey::create_file(key_file).ok());
  BOOST_CHECK_EQUAL(static_cast<int>(std::filesystem::status(key_file).permissions() &
                                     std::filesystem::perms::all),
                    0600);
  BOOST_CHECK(!SigningKey::create_file(key_file).ok());  // never overwrites a key
  auto key = SigningKey::load_file(key_file);
  BOOST_REQUIRE(key.ok());
  auto log = EventLog::open(dir.path(), OpenMode::kReadWrite);
  BOOST_REQUIRE(log.ok());
  Leaves d = fill(**log, 20);
  SthOptions o;
  o.anchor_dir = keys.path() + "/anchors";
  o.clock = [] { return TimeMs{1'700'000'000'000}; };
  SthService svc(**log, *key, o);
  auto th = svc.current();
  BOOST_REQUIRE(th.ok());
  BOOST_CHECK_EQUAL(th->tree_size, 20u);
  BOOST_CHECK(th->root_hash == MTH(d));
  BOOST_CHECK_EQUAL(th->timestamp, "2023-11-14T22:13:20.000Z");
  const auto& pub = key->public_key();
  BOOST_CHECK(pub.verifies(*th));
  auto parsed = parse_sth_json(sth_json(*th));
  BOOST_REQUIRE(parsed.ok());
  BOOST_CHECK(pub.verifies(*parsed));
  auto forged = *th;
  forged.tree_size = 19;
  BOOST_CHECK(!pub.verifies(forged));
  forged = *th;
  forged.root_hash[0] ^= 1;
  BOOST_CHECK(!pub.verifies(forged));
  // Hostile STH texts are errors naming the field, never a crash.
  const char* bad[] = {"",
                       "[]",
                       "{\"treeSize\":\"3\"}",
                       "{\"treeSize\":-1}",
                       "{\"treeSize\":1.5}",
                       "{\"treeSize\":1,\"rootHash\":\"zz\"}"};
  for (const char* text : bad) BOOST_CHECK(!parse_sth_json(text).ok());
  // tick() anchors the head once; a grown tree gets a new file.
  svc.tick();
  BOOST_CHECK(std::filesystem::exists(o.anchor_dir + "/" + SthService::anchor_name(*th)));
  fill(**log, 1);
  svc.tick();
  BOOST_CHECK_EQUAL(std::distance(std::filesystem::directory_iterator(o.anchor_dir),
                                  std::filesystem::directory_iterator{}),
                    2);
}

BOOST_AUTO_TEST_SUITE_END()
