#include "storage/merkle_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "storage/big_endian.h"

namespace enclave::storage {

namespace {

Error damaged(const std::string& what) {
  return make_error(ErrorCode::kInternal, "corrupt_tree", what);
}

// The root of 2^d consecutive nodes (concatenated 32-byte hashes).
std::string fold(std::string_view hashes) {
  std::vector<std::string> level;
  for (size_t off = 0; off + 32 <= hashes.size(); off += 32)
    level.emplace_back(hashes.substr(off, 32));
  while (level.size() > 1) {
    std::vector<std::string> up;
    for (size_t i = 0; i + 1 < level.size(); i += 2)
      up.push_back(merkle::node_hash(level[i], level[i + 1]));
    level.swap(up);
  }
  return level.empty() ? std::string() : level.front();
}

}  // namespace

const char* const MerkleStore::kSizeKey = "size";

std::string MerkleStore::tile_key(unsigned level, uint64_t tile) {
  std::string k = "T";
  k.push_back(static_cast<char>(level));
  put_u64(k, tile);
  return k;
}

Result<std::unique_ptr<MerkleStore>> MerkleStore::open(rocksdb::DB* db,
                                                       rocksdb::ColumnFamilyHandle* cf) {
  std::unique_ptr<MerkleStore> m(new MerkleStore(db, cf));
  std::string v;
  auto st = db->Get(rocksdb::ReadOptions(), cf, kSizeKey, &v);
  if (st.ok() && v.size() == 8) {
    m->edge_.size = get_u64(v);
  } else if (!st.IsNotFound()) {
    return damaged("the Merkle tree's size is unreadable: " + st.ToString());
  }
  // The right edge: per stored level, the unfilled tile's nodes.
  for (unsigned level = 0; level < 64 && (m->edge_.size >> level) > 0; level += kTileHeight) {
    const uint64_t count = m->edge_.size >> level;
    const uint64_t in_tile = count % kTileWidth;
    std::string part;
    if (in_tile) {
      std::string tile;
      st = db->Get(rocksdb::ReadOptions(), cf, tile_key(level, count / kTileWidth), &tile);
      if (!st.ok() || tile.size() < in_tile * 32)
        return damaged("the Merkle tree's edge tile at level " + std::to_string(level) +
                       " is missing or short");
      part = tile.substr(0, in_tile * 32);
    }
    m->edge_.tiles.push_back(std::move(part));
  }
  m->staged_ = m->edge_;
  return m;
}

uint64_t MerkleStore::size() const {
  std::lock_guard lock(mu_);
  return edge_.size;
}

void MerkleStore::push(Edge& e, size_t i, std::string hash, rocksdb::WriteBatch& batch,
                       std::vector<bool>& touched) const {
  if (e.tiles.size() <= i) e.tiles.resize(i + 1);
  if (touched.size() <= i) touched.resize(i + 1, false);
  auto& tile = e.tiles[i];
  tile += hash;
  touched[i] = true;
  if (tile.size() < kTileWidth * 32) return;
  const unsigned level = static_cast<unsigned>(i) * kTileHeight;
  const uint64_t count = e.size >> level;  // nodes of this level, this one included
  batch.Put(cf_, tile_key(level, count / kTileWidth - 1), tile);
  std::string up = fold(tile);
  tile.clear();
  touched[i] = false;
  push(e, i + 1, std::move(up), batch, touched);
}

void MerkleStore::stage(rocksdb::WriteBatch& batch, std::string_view leaves) {
  std::lock_guard lock(mu_);
  staged_ = edge_;
  std::vector<bool> touched;
  for (size_t off = 0; off + 32 <= leaves.size(); off += 32) {
    ++staged_.size;
    push(staged_, 0, std::string(leaves.substr(off, 32)), batch, touched);
  }
  for (size_t i = 0; i < touched.size(); ++i) {
    if (!touched[i] || staged_.tiles[i].empty()) continue;
    const unsigned level = static_cast<unsigned>(i) * kTileHeight;
    batch.Put(cf_, tile_key(level, (staged_.size >> level) / kTileWidth), staged_.tiles[i]);
  }
  std::string size;
  put_u64(size, staged_.size);
  batch.Put(cf_, kSizeKey, size);
}

void MerkleStore::commit() {
  std::lock_guard lock(mu_);
  edge_ = staged_;
}

void MerkleStore::abandon() {
  std::lock_guard lock(mu_);
  staged_ = edge_;
}

Result<std::string> MerkleStore::node(unsigned level, uint64_t index) const {
  const unsigned stored = level - level % kTileHeight;
  const unsigned d = level - stored;
  const uint64_t first = index << d;  // first node of the stored level under this one
  std::string tile;
  auto st = db_->Get(rocksdb::ReadOptions(), cf_, tile_key(stored, first / kTileWidth), &tile);
  const uint64_t off = (first % kTileWidth) * 32, len = (uint64_t{1} << d) * 32;
  if (!st.ok() || tile.size() < off + len)
    return damaged("Merkle node " + std::to_string(level) + "/" + std::to_string(index) +
                   " is missing: " + (st.ok() ? "short tile" : st.ToString()));
  return fold(std::string_view(tile).substr(off, len));
}

merkle::NodeSource MerkleStore::source() const {
  return [this](unsigned level, uint64_t index) { return node(level, index); };
}

Result<std::string> MerkleStore::root(uint64_t size) const { return merkle::root(size, source()); }

Result<std::vector<std::string>> MerkleStore::inclusion_proof(uint64_t index, uint64_t size) const {
  return merkle::inclusion_proof(index, size, source());
}

Result<std::vector<std::string>> MerkleStore::consistency_proof(uint64_t first,
                                                                uint64_t second) const {
  return merkle::consistency_proof(first, second, source());
}

}  // namespace enclave::storage
