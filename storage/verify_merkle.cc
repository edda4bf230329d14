#include "storage/verify_merkle.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "events/ids.h"
#include "events/snapshot.h"
#include "storage/merkle_store.h"
#include "storage/merkle_tree.h"
#include "storage/replay.h"

namespace enclave::storage {

namespace {

// The roots of the perfect subtrees covering the leaves so far (RFC 9162's left-to-right
// decomposition), so the root at every size is known while streaming the leaves once.
class Frontier {
 public:
  void push(std::string leaf) {
    ++size_;
    nodes_.push_back({0, std::move(leaf)});
    while (nodes_.size() >= 2 && nodes_[nodes_.size() - 2].first == nodes_.back().first) {
      auto right = std::move(nodes_.back());
      nodes_.pop_back();
      auto& left = nodes_.back();
      left.second = merkle::node_hash(left.second, right.second);
      ++left.first;
    }
  }
  std::string root() const {
    if (nodes_.empty()) return merkle::empty_root();
    std::string r = nodes_.back().second;
    for (size_t i = nodes_.size() - 1; i-- > 0;) r = merkle::node_hash(nodes_[i].second, r);
    return r;
  }
  uint64_t size() const { return size_; }

 private:
  uint64_t size_ = 0;
  std::vector<std::pair<unsigned, std::string>> nodes_;
};

// Parses a stored snapshot of `kind` ("session", "fleet") and checks the seq it claims lies in
// its stream; false with `problem` set if not.
template <typename Snapshot>
bool parse_snapshot(std::string_view bytes, const char* kind, uint64_t stream_end, Snapshot* snap,
                    std::string* problem) {
  if (!snap->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    *problem = std::string("the ") + kind + " snapshot does not parse";
    return false;
  }
  if (snap->last_seq() == 0 || snap->last_seq() > stream_end) {
    *problem = std::string("the ") + kind + " snapshot claims seq " +
               std::to_string(snap->last_seq()) + " but the stream ends at " +
               std::to_string(stream_end);
    return false;
  }
  return true;
}

bool snapshot_matches(const EventLog& log, const std::string& stream, std::string_view bytes,
                      std::string* problem) {
  auto first = log.read_stream(stream, 1, 1);
  if (!first || first->empty()) {
    *problem = "a snapshot exists for a stream with no events";
    return false;
  }
  const auto head = log.head(stream).value_or(StreamHead{});
  if (first->front().envelope.has_session_created()) {
    events::SessionSnapshot snap;
    if (!parse_snapshot(bytes, "session", head.seq, &snap, problem)) return false;
    ReplayCut cut;
    cut.until_seq = snap.last_seq();
    auto r = replay_stream(log, stream, cut);
    if (!r) {
      *problem = r.error().message;
      return false;
    }
    // Compared as messages, not bytes: a map field (the spec's env) serialises in no fixed order.
    if (!google::protobuf::util::MessageDifferencer::Equals(snapshot::of(r->session), snap)) {
      *problem = "the session snapshot differs from the fold of its events 1.." +
                 std::to_string(snap.last_seq()) + " (swapped or rewritten)";
      return false;
    }
    return true;
  }
  if (first->front().envelope.has_fleet_created()) {
    events::FleetSnapshot snap;
    if (!parse_snapshot(bytes, "fleet", head.seq, &snap, problem)) return false;
    // A fleet's snapshot is written when its last member ended: its members' final phases.
    auto r = replay_stream(log, stream, ReplayCut{});
    if (!r) {
      *problem = r.error().message;
      return false;
    }
    auto want = snapshot::of(r->fleet);
    if (want.id() != snap.id() || want.org_id() != snap.org_id() ||
        want.created_by() != snap.created_by() || want.name() != snap.name() ||
        want.created_at_ms() != snap.created_at_ms() ||
        !std::equal(want.member_ids().begin(), want.member_ids().end(), snap.member_ids().begin(),
                    snap.member_ids().end()) ||
        !std::equal(want.member_phases().begin(), want.member_phases().end(),
                    snap.member_phases().begin(), snap.member_phases().end())) {
      *problem = "the fleet snapshot differs from the fold of the fleet and its members";
      return false;
    }
    return true;
  }
  *problem = "a snapshot exists for a stream that is neither a session nor a fleet";
  return false;
}

}  // namespace

TransparencyReport verify_transparency(const EventLog& log, const TransparencyOptions& options) {
  TransparencyReport rep;
  auto fail = [&](const std::string& stream, uint64_t seq, uint64_t gseq, std::string what) {
    if (!rep.ok) return;
    rep.ok = false;
    rep.stream_hex = stream.empty() ? "" : to_hex(stream);
    rep.seq = seq;
    rep.global_seq = gseq;
    rep.problem = std::move(what);
  };
  // Signatures first: an STH that is not the key's is no evidence at all.
  rep.signatures_checked = options.public_key.has_value();
  std::multimap<uint64_t, const TreeHeadSource*> by_size;
  for (const auto& s : options.sths) {
    if (options.public_key && !options.public_key->verifies(s.head)) {
      fail("", 0, 0,
           "tree head " + s.origin + " (size " + std::to_string(s.head.tree_size) +
               ") is not signed by the given public key (forged or another server's)");
      return rep;
    }
    by_size.emplace(s.head.tree_size, &s);
  }
  rep.sths = options.sths.size();
  auto check_heads_at = [&](uint64_t size, const std::string& root) {
    auto [lo, hi] = by_size.equal_range(size);
    for (auto it = lo; it != hi; ++it)
      if (it->second->head.root_hash != root) {
        fail("", 0, size,
             "the events give a different root at size " + std::to_string(size) +
                 " than tree head " + it->second->origin +
                 " signed: history up to there was rewritten or replaced");
        return false;
      }
    return true;
  };
  Frontier tree;
  if (!check_heads_at(0, tree.root())) return rep;
  // Fast path: one sequential pass over the events family, each event placed by its own
  // global_seq, then the index checked against those places without reading an event again.
  // Falls back to reading each event in global order (a random read each) for logs with events
  // from before global seqs were recorded, or too large to hold 88 bytes per event in memory.
  constexpr uint64_t kFastPathMaxEvents = 4'000'000;
  const uint64_t total = log.last_global_seq();
  bool fast = total > 0 && total <= kFastPathMaxEvents;
  std::vector<char> leaves, hashes, keys;
  std::vector<bool> filled;
  if (fast) {
    leaves.resize(32 * total);
    hashes.resize(32 * total);
    keys.resize(24 * total);
    filled.resize(total);
    events::Envelope e;
    auto r = log.scan_raw_events([&](std::string_view key, std::string_view bytes) {
      if (key.size() != 24 || !e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
          e.global_seq() == 0) {
        fast = false;  // legacy or damaged: the slow path says which
        return false;
      }
      const uint64_t g = e.global_seq();
      if (g > total || filled[g - 1]) {
        std::string stream;
        uint64_t seq = 0;
        (void)parse_event_key(key, &stream, &seq);
        fail(stream, seq, g,
             "the event says it is global seq " + std::to_string(g) +
                 (g > total ? ", beyond the global index's end" : ", as another does"));
        return false;
      }
      filled[g - 1] = true;
      const std::string leaf = merkle::leaf_hash(bytes), hash = sha256(bytes);
      std::copy(leaf.begin(), leaf.end(), leaves.begin() + static_cast<ptrdiff_t>(32 * (g - 1)));
      std::copy(hash.begin(), hash.end(), hashes.begin() + static_cast<ptrdiff_t>(32 * (g - 1)));
      std::copy(key.begin(), key.end(), keys.begin() + static_cast<ptrdiff_t>(24 * (g - 1)));
      return true;
    });
    if (!r) fail("", 0, 0, "events: " + r.error().message);
    if (!rep.ok) return rep;
  }
  uint64_t expect = 1;
  if (fast) {
    auto at = [](const std::vector<char>& v, uint64_t g, size_t w) {
      return std::string_view(v.data() + w * (g - 1), w);
    };
    auto scanned = log.scan_global_refs(
        1, [&](uint64_t gseq, std::string_view sv, uint64_t seq, std::string_view hash) {
          std::string stream(sv);
          if (gseq != expect) {
            fail(stream, seq, expect,
                 "the global order jumps from " + std::to_string(expect - 1) + " to " +
                     std::to_string(gseq));
            return false;
          }
          ++expect;
          if (gseq > total || !filled[gseq - 1]) {
            fail(stream, seq, gseq, "the global index names a missing event (deleted)");
            return false;
          }
          if (at(keys, gseq, 24) != event_key(stream, seq)) {
            fail(stream, seq, gseq, "the event at this global seq is not the one the index names");
            return false;
          }
          if (!hash.empty() && at(hashes, gseq, 32) != hash) {
            fail(stream, seq, gseq, "the event's SHA-256 differs from the global index's");
            return false;
          }
          tree.push(std::string(at(leaves, gseq, 32)));
          if (by_size.count(tree.size()) && !check_heads_at(tree.size(), tree.root())) return false;
          return true;
        });
    if (!scanned) fail("", 0, 0, "global index: " + scanned.error().message);
    if (rep.ok && tree.size() != total)
      fail("", 0, tree.size() + 1,
           "the global index ends at " + std::to_string(tree.size()) +
               " but events claim global seqs up to " + std::to_string(total));
  }
  bool legacy = true;  // events before the log recorded global seqs carry 0
  std::optional<Error> err;
  auto scanned =
      fast ? Result<bool>(true)
           : log.scan_global_raw(1, [&](uint64_t gseq, std::string_view sv, uint64_t seq,
                                        std::string_view hash, std::string_view bytes) {
               std::string stream(sv);
               if (gseq != expect) {
                 fail(stream, seq, expect,
                      "the global order jumps from " + std::to_string(expect - 1) + " to " +
                          std::to_string(gseq));
                 return false;
               }
               ++expect;
               if (bytes.empty()) {
                 fail(stream, seq, gseq, "the global index names a missing event (deleted)");
                 return false;
               }
               if (!hash.empty() && sha256(bytes) != hash) {
                 fail(stream, seq, gseq, "the event's SHA-256 differs from the global index's");
                 return false;
               }
               events::Envelope e;
               if (!e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
                   e.stream() != stream || e.seq() != seq) {
                 fail(stream, seq, gseq,
                      "the event at this global seq is not the one the index names");
                 return false;
               }
               if (e.global_seq() != 0) legacy = false;
               if (e.global_seq() != gseq && !(legacy && e.global_seq() == 0)) {
                 fail(stream, seq, gseq,
                      "the event says it is global seq " + std::to_string(e.global_seq()) +
                          " (reordered)");
                 return false;
               }
               tree.push(merkle::leaf_hash(bytes));
               if (by_size.count(tree.size()) && !check_heads_at(tree.size(), tree.root()))
                 return false;
               return true;
             });
  if (!scanned) fail("", 0, 0, "global index: " + scanned.error().message);
  if (!rep.ok) return rep;
  rep.leaves = tree.size();
  if (!by_size.empty() && by_size.rbegin()->first > tree.size()) {
    const auto* s = by_size.rbegin()->second;
    fail("", 0, tree.size() + 1,
         "tree head " + s->origin + " covers " + std::to_string(s->head.tree_size) +
             " events but the log holds " + std::to_string(tree.size()) +
             ": events were removed (truncated, deleted or rolled back)");
    return rep;
  }
  // The stored tree (what proofs are served from) must be the one the events give.
  if (const auto* m = log.merkle()) {
    if (m->size() != tree.size()) {
      fail("", 0, tree.size(),
           "the stored Merkle tree has " + std::to_string(m->size()) +
               " leaves, the global index " + std::to_string(tree.size()));
      return rep;
    }
    auto stored = m->root(tree.size());
    if (!stored || *stored != tree.root()) {
      fail("", 0, tree.size(), "the stored Merkle tree's root differs from the events' root");
      return rep;
    }
  }
  auto snaps = log.scan_snapshots([&](std::string_view key, std::string_view value) {
    if (key.size() != 16) return true;  // the read model's checkpoint, not a stream's snapshot
    ++rep.snapshots;
    std::string problem;
    if (!snapshot_matches(log, std::string(key), value, &problem)) {
      fail(std::string(key), 0, 0, problem);
      return false;
    }
    return true;
  });
  if (!snaps) fail("", 0, 0, "snapshots: " + snaps.error().message);
  return rep;
}

Result<TreeHeadSource> read_sth_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "not_found", "cannot read " + path);
  std::string text(64 * 1024 + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  auto th = parse_sth_json(text);
  if (!th) {
    auto e = th.error();
    e.message = path + ": " + e.message;
    return e;
  }
  return TreeHeadSource{*th, std::filesystem::path(path).filename().string()};
}

Result<std::vector<TreeHeadSource>> read_anchor_dir(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".json")
      files.push_back(entry.path().string());
  if (ec) return make_error(ErrorCode::kNotFound, "not_found", "cannot read anchor dir " + dir);
  std::sort(files.begin(), files.end());
  std::vector<TreeHeadSource> out;
  for (const auto& f : files) {
    auto s = read_sth_file(f);
    if (!s) return s.error();
    out.push_back(std::move(*s));
  }
  return out;
}

}  // namespace enclave::storage
