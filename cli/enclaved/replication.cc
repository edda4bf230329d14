#include "cli/enclaved/replication.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "events/ids.h"

namespace enclave::enclaved {

namespace {

constexpr const char* kCachePrefix = "enclave-log-";
constexpr int kFencedExit = 75;

// Removes the local copies left by processes that are gone (kill -9 leaves its copy behind).
void sweep_dead_copies(const std::filesystem::path& base) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kCachePrefix, 0) != 0) continue;
    const std::string rest = name.substr(std::string(kCachePrefix).size());
    const auto dash = rest.find('-');
    if (dash == std::string::npos || dash == 0 || dash > 9) continue;
    pid_t pid = static_cast<pid_t>(std::atoi(rest.substr(0, dash).c_str()));
    if (pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM)) continue;  // still running
    std::filesystem::remove_all(entry.path(), ec);
  }
}

[[noreturn]] void exit_fenced(const std::string& why) {
  spdlog::critical(
      "no longer the leader ({}): exiting at once (code {}) so nothing more reaches "
      "the log or the backend; restart as a standby",
      why, kFencedExit);
  spdlog::shutdown();
  std::_Exit(kFencedExit);
}

}  // namespace

PgNode::~PgNode() {
  std::error_code ec;
  if (!log_dir.empty()) std::filesystem::remove_all(log_dir, ec);
}

Result<std::unique_ptr<PgNode>> open_pg_node(const std::string& conninfo) {
  auto store = storage::pg::PgStore::open(conninfo);
  if (!store) return store.error();
  auto node = std::make_unique<PgNode>();
  node->store = std::move(*store);
  std::error_code ec;
  const auto base = std::filesystem::temp_directory_path(ec);
  if (ec) return make_error(ErrorCode::kInternal, "no_temp_dir", "no temp dir: " + ec.message());
  sweep_dead_copies(base);
  std::string path =
      (base / (std::string(kCachePrefix) + std::to_string(::getpid()) + "-XXXXXX")).string();
  if (!::mkdtemp(path.data()))
    return make_error(ErrorCode::kInternal, "no_log_dir",
                      "cannot make the log's local copy dir " + path + ": " + strerror(errno));
  node->log_dir = path;
  return node;
}

Result<std::unique_ptr<HaNode>> HaNode::start(const ServeConfig& c, PgNode& node,
                                              std::function<Result<bool>()> go_live) {
  std::unique_ptr<HaNode> n(new HaNode());
  n->node_ = &node;
  n->advertise_ = c.advertise;
  char host[256] = {};
  (void)::gethostname(host, sizeof host - 1);
  const std::string holder =
      std::string(host) + "/" + std::to_string(::getpid()) + "/" + to_hex(new_stream_id());
  auto lease = storage::pg::PgLease::open(c.pg_conninfo, holder, c.advertise, c.lease_ttl_ms);
  if (!lease) return lease.error();
  n->lease_ = std::move(*lease);
  auto tail = storage::pg::PgTail::open(c.pg_conninfo);
  if (!tail) return tail.error();
  n->tail_ = std::move(*tail);
  auto follower = storage::EventLog::open(node.log_dir, storage::OpenMode::kReadWrite);
  if (!follower) return follower.error();
  n->follower_ = std::move(*follower);
  if (auto r = n->follower_->catch_up_from(*node.store); !r) return r.error();
  // Fenced appends (another leader's epoch) stop this process before anything else happens.
  node.store->on_fenced([] { exit_fenced("an append found another leader's epoch"); });

  ReplicaOptions o;
  o.ttl_ms = c.lease_ttl_ms;
  o.margin_ms = std::max<int64_t>(c.lease_ttl_ms / 6, 200);
  ReplicaHooks h;
  HaNode* self = n.get();
  h.follow = [self](int64_t ms) { self->follow(ms); };
  h.take_over = [self, go_live](uint64_t epoch) -> Result<bool> {
    self->node_->store->set_epoch(epoch);
    self->follower_.reset();  // the engine opens the same dir and catches up the rest
    return go_live();
  };
  h.step_down = [](const std::string& why) { exit_fenced(why); };
  n->replica_ = std::make_unique<Replica>(*n->lease_, o, std::move(h));
  n->replica_->start();
  spdlog::info("replica {} started as a standby (lease TTL {} ms, advertising {})", holder,
               c.lease_ttl_ms, c.advertise);
  return n;
}

HaNode::~HaNode() { stop(); }

void HaNode::stop() {
  if (replica_) replica_->stop();
}

void HaNode::follow(int64_t max_wait_ms) {
  (void)tail_->wait(static_cast<int>(max_wait_ms));
  if (!follower_) return;
  auto r = follower_->catch_up_from(*node_->store);
  if (!r) {
    spdlog::error("following the log: {}", r.error().message);
    return;
  }
  auto last = node_->store->last_gseq();
  const uint64_t mine = follower_->last_global_seq();
  lag_ = last && *last > mine ? *last - mine : 0;
}

http::ReplicaStatus HaNode::status(bool live) const {
  http::ReplicaStatus s;
  const Role r = replica_->role();
  s.epoch = replica_->epoch();
  if (live && r == Role::kLeader) {
    s.role = "leader";
    s.leader = advertise_;
    return s;
  }
  s.role = r == Role::kStopped ? "stopped" : "standby";
  // Taking over (not live yet): no one to send clients to for a moment.
  s.leader = r == Role::kLeader ? "" : replica_->leader_addr();
  s.lag_events = lag_;
  return s;
}

}  // namespace enclave::enclaved
