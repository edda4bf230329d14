// The Merkle tree of the global order (merkle_tree.h), persisted in its own column family so that
// appending costs O(log n) and a proof O(log n) reads, and opening reads O(log n) keys.
//
// Layout (column family "merkle"):
//   'T' + level(1) + tile(8, big-endian) → up to 16 hashes (32 bytes each): the nodes of `level`
//                                          with index tile*16 … tile*16+15, for levels 0, 4, 8, …
//   "size"                               → u64 big-endian: the number of leaves
// A node of another level is recomputed from at most 8 stored nodes of the level below it that
// is a multiple of 4 (all in one tile). A tile is rewritten while it fills and never after.
// Appends are staged into the same WriteBatch as the events they cover, so the tree and the log
// can never disagree after a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "events/error.h"
#include "storage/merkle_tree.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace enclave::storage {

class MerkleStore {
 public:
  static constexpr unsigned kTileHeight = 4;  // stored levels: 0, 4, 8, …
  static constexpr uint64_t kTileWidth = 16;  // nodes per tile

  // Reads the size and the right edge (one tile per stored level). `db` and `cf` outlive this.
  [[nodiscard]] static Result<std::unique_ptr<MerkleStore>> open(rocksdb::DB* db,
                                                                 rocksdb::ColumnFamilyHandle* cf);

  // Leaves committed (= the global seq the tree covers).
  uint64_t size() const;

  // Puts the tiles and size after appending `leaves` (concatenated 32-byte leaf hashes, in
  // global order after size()) into `batch`. Until commit() or abandon(), no other stage().
  void stage(rocksdb::WriteBatch& batch, std::string_view leaves);
  // The staged batch was written: the staged leaves are now part of the tree.
  void commit();
  // The staged batch was not written.
  void abandon();

  // A node (merkle::NodeSource) of the tree as stored; kInternal if it is missing or damaged.
  [[nodiscard]] Result<std::string> node(unsigned level, uint64_t index) const;
  merkle::NodeSource source() const;

  [[nodiscard]] Result<std::string> root(uint64_t size) const;
  [[nodiscard]] Result<std::vector<std::string>> inclusion_proof(uint64_t index,
                                                                 uint64_t size) const;
  [[nodiscard]] Result<std::vector<std::string>> consistency_proof(uint64_t first,
                                                                   uint64_t second) const;

  static std::string tile_key(unsigned level, uint64_t tile);
  static const char* const kSizeKey;

 private:
  MerkleStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}
  struct Edge {
    uint64_t size = 0;
    // edge[i]: the nodes of level i*kTileHeight in the rightmost, unfilled tile (< 16 of them)
    std::vector<std::string> tiles;
  };
  // Adds a node to stored level `i` (level i*kTileHeight) of `e`; a filled tile goes to `batch`
  // and its root up one stored level. `touched[i]`: the level's unfilled tile changed.
  void push(Edge& e, size_t i, std::string hash, rocksdb::WriteBatch& batch,
            std::vector<bool>& touched) const;

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  mutable std::mutex mu_;
  Edge edge_;    // committed
  Edge staged_;  // after the staged batch
};

}  // namespace enclave::storage
