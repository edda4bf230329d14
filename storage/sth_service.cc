#include "storage/sth_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "events/ids.h"
#include "storage/merkle_store.h"

namespace enclave::storage {

namespace {

Error no_key() {
  return make_error(ErrorCode::kNotFound, "signing_key_not_configured",
                    "this server has no signing key (--signing-key): it signs no tree heads");
}

Error no_tree() {
  return make_error(ErrorCode::kUnavailable, "log_unavailable", "the log has no Merkle tree");
}

Error bad(const char* field, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "invalid_argument", what, field);
}

// Writes `text` to `dir/name` through a temp file and rename, fsynced: an anchor is whole or
// absent.
bool write_file(const std::string& dir, const std::string& name, const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string tmp = dir + "/." + name + ".tmp", path = dir + "/" + name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  return ok && std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

SthService::SthService(const EventLog& log, std::optional<SigningKey> key, SthOptions options)
    : log_(log), key_(std::move(key)), options_(std::move(options)) {}

SthService::~SthService() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

std::string SthService::anchor_name(const TreeHead& th) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "sth-%020llu.json", static_cast<unsigned long long>(th.tree_size));
  return buf;
}

void SthService::start() {
  if (!key_ || options_.interval_s <= 0 || timer_.joinable()) return;
  timer_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, std::chrono::seconds(options_.interval_s), [this] { return stopping_; });
      if (stopping_) break;
      if (!log_.merkle()) continue;
      const uint64_t size = log_.merkle()->size();
      if (size > 0 && (!latest_ || latest_->tree_size < size || anchored_size_ < size))
        (void)sign_now(true);
    }
  });
}

void SthService::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  tick();
}

void SthService::tick() {
  if (!key_ || !log_.merkle()) return;
  std::lock_guard lock(mu_);
  const uint64_t size = log_.merkle()->size();
  if (size > 0 && (!latest_ || latest_->tree_size < size || anchored_size_ < size))
    (void)sign_now(true);
}

Result<TreeHead> SthService::sign_now(bool anchor) {
  const uint64_t size = log_.merkle()->size();
  TreeHead th;
  if (latest_ && latest_->tree_size == size) {
    th = *latest_;  // nothing new: the same head, anchored if it was not yet
  } else {
    auto root = log_.merkle()->root(size);
    if (!root) return root.error();
    th.tree_size = size;
    th.root_hash = *root;
    th.timestamp = rfc3339(options_.clock());
    key_->sign(th);
    latest_ = th;
  }
  if (anchor && !options_.anchor_dir.empty() && anchored_size_ < th.tree_size) {
    if (write_file(options_.anchor_dir, anchor_name(th), sth_json(th) + "\n"))
      anchored_size_ = th.tree_size;
  }
  return th;
}

Result<TreeHead> SthService::current(uint64_t min_size) {
  if (!key_) return no_key();
  if (!log_.merkle()) return no_tree();
  std::lock_guard lock(mu_);
  if (latest_ && latest_->tree_size >= min_size && latest_->tree_size > 0) return *latest_;
  return sign_now(false);
}

Result<std::vector<std::string>> SthService::consistency(uint64_t first, uint64_t second) const {
  if (!log_.merkle()) return no_tree();
  const uint64_t size = log_.merkle()->size();
  if (first < 1) return bad("first", "first must be ≥ 1");
  if (second < first) return bad("second", "second must be ≥ first");
  if (second > size)
    return bad("second", "second must be ≤ the tree size (" + std::to_string(size) + ")");
  return log_.merkle()->consistency_proof(first, second);
}

Result<std::vector<EventProof>> SthService::prove_stream(const std::string& stream, uint64_t count,
                                                         uint64_t tree_size) const {
  if (!log_.merkle()) return no_tree();
  auto raw = log_.read_stream_bytes(stream, 1, count);
  if (!raw) return raw.error();
  std::vector<EventProof> out;
  for (size_t i = 0; i < raw->size(); ++i) {
    EventProof p;
    p.seq = i + 1;
    p.bytes = std::move((*raw)[i]);
    events::Envelope e;
    if (!e.ParseFromString(p.bytes) || e.global_seq() == 0)
      return make_error(
          ErrorCode::kConflict, "proof_unavailable",
          "event " + std::to_string(p.seq) + " was stored before the log recorded global seqs");
    p.leaf_index = e.global_seq() - 1;
    if (p.leaf_index >= tree_size)
      return make_error(ErrorCode::kUnavailable, "log_unavailable",
                        "the tree head does not cover the event yet");
    auto path = log_.merkle()->inclusion_proof(p.leaf_index, tree_size);
    if (!path) return path.error();
    p.path = std::move(*path);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace enclave::storage
