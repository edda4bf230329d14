#include "backends/gvisor/gvisor_backend.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "backends/gvisor/cgroup_v1.h"
#include "backends/gvisor/oci_bundle.h"
#include "backends/gvisor/process.h"
#include "backends/gvisor/runsc_locks.h"
#include "backends/gvisor/sandbox.h"
#include "backends/gvisor/workdir.h"
#include "backends/runner/runner_py.h"

namespace enclave::backends {

namespace {

using gvisor::Cgroup;
using gvisor::HostLayout;
using gvisor::Sandbox;
using namespace std::chrono_literals;

// The slot number in `path` (written by write_slot_file; the data dir is hostile: a regular
// file, not a link, at most a few bytes, a number 0..63), or -1.
int read_slot_file(const std::string& path) {
  if (path.empty()) return -1;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return -1;
  struct stat st {};
  char buf[8] = {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < 8;
  const ssize_t n = regular ? ::read(fd, buf, sizeof buf - 1) : -1;
  ::close(fd);
  if (n <= 0) return -1;
  int slot = -1;
  size_t i = 0;
  for (; i < static_cast<size_t>(n) && buf[i] >= '0' && buf[i] <= '9'; ++i)
    slot = (slot < 0 ? 0 : slot * 10) + (buf[i] - '0');
  const bool rest_ok =
      i == static_cast<size_t>(n) || (buf[i] == '\n' && i + 1 == static_cast<size_t>(n));
  return rest_ok && slot >= 0 && slot < 64 ? slot : -1;
}

void write_slot_file(const std::string& path, int slot) {
  if (path.empty()) return;
  // Never through a link someone left in the data dir.
  const int fd = ::open(path.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
  if (fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    const std::string text = std::to_string(slot) + "\n";
    (void)!::write(fd, text.data(), text.size());
  }
  ::close(fd);
}

bool is_container_id(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string random_id() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 32; ++i) id += hex[rd() & 15];
  return id;
}

std::vector<std::string> runsc_list(const GvisorConfig& c) {
  auto r = gvisor::run_command({c.runsc_path, "--root=" + c.state_dir, "--network=none",
                                "--platform=ptrace", "list", "-quiet"},
                               10s);
  std::vector<std::string> ids;
  if (r.exit_code != 0) return ids;
  std::istringstream in(r.output);
  std::string id;
  while (in >> id) ids.push_back(id);
  return ids;
}

class GvisorBackend final : public Backend {
 public:
  GvisorBackend(GvisorConfig config, Sink sink) : sink_(std::move(sink)) {
    auto host = std::make_shared<HostLayout>();
    base_ = config;  // before the slot suffix: how other slots' dirs are named
    host->config = std::move(config);
    if (host->config.isolate_instances) init_error_ = acquire_slot(&host->config);
    const auto& c = host->config;
    host->rootfs = c.work_dir + "/rootfs";
    host->runtime_dir = c.work_dir + "/runtime";
    host->sessions_dir = c.work_dir + "/sessions";
    make_egress_tls(host.get());
    host_ = host;
    if (init_error_.empty()) init_error_ = prepare_host();
    if (c.become_subreaper) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    std::lock_guard lock(mu_);
    refill_pool_locked();
  }

  ~GvisorBackend() override {
    shutdown();
    if (slot_lock_fd_ >= 0) ::close(slot_lock_fd_);  // releases the slot
  }

  std::string name() const override { return "gvisor"; }

  size_t idle_pool_size() const override {
    std::lock_guard lock(mu_);
    return pool_.size();
  }

  void launch(const LaunchSpec& ls) override {
    if (refused(ls)) return;
    std::shared_ptr<Sandbox> sandbox;
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        return;  // after shutdown() no more events are delivered
      } else if (sessions_.count(ls.session_id) != 0) {
        return;  // already running; it reports as usual
      } else {
        // Warm path: an idle pre-started kernel that fits this session's fixed limits.
        for (auto it = pool_.begin(); it != pool_.end(); ++it) {
          if ((*it)->can_assign(ls.spec) && (*it)->assign(ls.session_id, ls.spec)) {
            sandbox = *it;
            pool_.erase(it);
            pool_failures_ = 0;
            sessions_[ls.session_id] = sandbox;
            session_of_[sandbox->container_id()] = ls.session_id;
            refill_pool_locked();
            return;
          }
        }
        sandbox = make_sandbox(ls.session_id, ls.spec, ls.session_id);
        pass_secrets(*sandbox, ls);
        sessions_[ls.session_id] = sandbox;
        session_of_[ls.session_id] = ls.session_id;
      }
    }
    sandbox->start_thread();
  }

  void exec_turn(const std::string& session_id, uint32_t turn, const std::string& code,
                 int64_t timeout_ms) override {
    if (auto s = find(session_id)) {
      s->exec_turn(turn, code, timeout_ms);
      return;
    }
    if (stopping()) return;
    TurnDone done;
    done.turn.set_turn(turn);
    done.turn.set_code_sha256(sha256_hex(code));
    done.turn.set_has_exit_code(false);
    done.turn.set_stderr("no running sandbox for this session");
    sink_(session_id, std::move(done));
  }

  void kill(const std::string& session_id, const std::string& reason) override {
    std::string container_id = session_id;
    if (auto s = find(session_id)) {
      if (s->teardown_left().empty()) {
        s->kill(reason);
        return;
      }
      container_id = s->container_id();  // torn down, but something was left: retry below
    }
    if (stopping()) return;
    if (!is_container_id(session_id)) {
      sink_(session_id, Removed{"no sandbox for this session"});
      return;
    }
    // Not running: either its teardown left something (retry under its container id, which for
    // a pool kernel is not the session id), or it was left by a previous process (adopt() is
    // always false). Delete whatever runsc and the cgroups still hold, off the caller's thread.
    std::lock_guard lock(mu_);
    if (auto lb = left_behind_.find(session_id); lb != left_behind_.end()) {
      container_id = lb->second;
      left_behind_.erase(lb);
    }
    janitors_.emplace_back([this, session_id, container_id] {
      std::string left;
      std::vector<std::string> lines = remove_leftovers(container_id, &left);
      std::string detail = "no running sandbox for this session";
      for (const auto& l : lines) detail += "; " + l;
      if (!left.empty()) {
        std::lock_guard relock(mu_);
        left_behind_[session_id] = container_id;  // still there: the next kill() tries again
      }
      sink_(session_id, Removed{detail, left, container_id});
    });
  }

  bool supports_checkpoint() const override { return true; }

  void checkpoint(const std::string& session_id, const std::string& image_dir,
                  bool leave_running) override {
    if (auto s = find(session_id)) {
      s->checkpoint(image_dir, leave_running);
      return;
    }
    if (stopping()) return;
    Checkpointed failed;
    failed.error = "no running sandbox for this session";
    sink_(session_id, std::move(failed));
  }

  void restore(const LaunchSpec& ls, const std::string& image_dir, const std::string& sha256,
               uint64_t max_bytes) override {
    if (refused(ls)) return;
    std::shared_ptr<Sandbox> sandbox;
    {
      std::lock_guard lock(mu_);
      if (stopping_ || sessions_.count(ls.session_id) != 0) return;
      // A fresh container id: the paused sandbox's own teardown may still be deleting its id.
      const std::string cid = random_id();
      sandbox = make_sandbox(cid, ls.spec, ls.session_id);
      sandbox->set_restore(image_dir, sha256, max_bytes);
      // Its new proxy injects the session's secrets as the first one did (and its io dir gets
      // this server's CA bundle, which the restored workload reads at its next TLS context).
      pass_secrets(*sandbox, ls);
      sessions_[ls.session_id] = sandbox;
      session_of_[cid] = ls.session_id;
    }
    sandbox->start_thread();
  }

  bool adopt(const std::string& session_id) override {
    return adopt_sandbox({session_id, session_id, {}});
  }

  // A sandbox left running by a previous enclaved of this slot (killed -9): re-attached when
  // the host still has all of it (sandbox_adopt.cc); else false, and cleanup_orphans removes
  // whatever is left of it.
  bool adopt_sandbox(const AdoptSpec& a) override {
    if (!init_error_.empty() || !is_container_id(a.session_id) || !is_container_id(a.container_id))
      return false;
    std::shared_ptr<Sandbox> sandbox;
    {
      std::lock_guard lock(mu_);
      if (stopping_ || sessions_.count(a.session_id) != 0 || all_.count(a.container_id) != 0)
        return false;
      sandbox = std::make_shared<Sandbox>(host_, a.container_id, a.spec, a.session_id, sink_,
                                          [this](const std::string& cid) { on_finished(cid); });
      sandbox->set_on_detached([this](const std::string& cid) { on_detached(cid); });
    }
    if (auto why = sandbox->prepare_adoption(); !why.empty()) {
      adopt_log_.push_back("session " + a.session_id + " not adopted: " + why);
      return false;
    }
    {
      std::lock_guard lock(mu_);
      all_[a.container_id] = sandbox;
      sessions_[a.session_id] = sandbox;
      session_of_[a.container_id] = a.session_id;
    }
    adopt_log_.push_back("session " + a.session_id + " adopted (container " + a.container_id + ")");
    sandbox->start_thread();
    return true;
  }

  // Deletes runsc state, cgroups and the work dir of container `id` if any exist. What could not
  // be removed is appended to `*left`.
  std::vector<std::string> remove_leftovers(const std::string& id, std::string* left) {
    std::vector<std::string> lines;
    auto failed = [&](const std::string& what) {
      lines.push_back(what);
      *left += (left->empty() ? "" : "; ") + what;
    };
    const auto& c = host_->config;
    if (std::filesystem::exists(c.state_dir + "/" + id) || has_runsc_state(id)) {
      auto r = gvisor::run_command({c.runsc_path, "--root=" + c.state_dir, "--network=none",
                                    "--platform=ptrace", "delete", "--force", id},
                                   10s);
      if (r.exit_code == 0)
        lines.push_back("runsc container " + id + " deleted");
      else
        failed("runsc delete failed: " + r.output.substr(0, 300));
    }
    for (const auto& ctl : Cgroup::controllers()) {
      if (!std::filesystem::exists(std::string(Cgroup::kRoot) + "/" + ctl + "/" + c.cgroup_parent +
                                   "/" + id))
        continue;
      auto not_removed = Cgroup(c.cgroup_parent, id).remove();
      if (not_removed.empty())
        lines.push_back("cgroup /" + c.cgroup_parent + "/" + id + " removed");
      else
        failed("cgroups left: " + not_removed);
      break;  // remove() covers every controller
    }
    std::error_code ec;
    gvisor::unmount_workdir(host_->sessions_dir + "/" + id);
    if (std::filesystem::remove_all(host_->sessions_dir + "/" + id, ec) > 0)
      lines.push_back("work dir of " + id + " removed");
    if (ec) failed("remove work dir of " + id + ": " + ec.message());
    return lines;
  }

  bool has_runsc_state(const std::string& id) {
    for (const auto& known : runsc_list(host_->config)) {
      if (known == id) return true;
    }
    return false;
  }

  std::vector<std::string> cleanup_orphans(const std::set<std::string>& keep) override {
    std::vector<std::string> lines;
    lines.swap(adopt_log_);  // what adopt_sandbox() found, for the same log
    const auto& c = host_->config;
    std::set<std::string> ours;
    {
      std::lock_guard lock(mu_);
      for (const auto& [cid, s] : all_) ours.insert(cid);
    }
    auto skip = [&](const std::string& id) { return keep.count(id) != 0 || ours.count(id) != 0; };
    for (const auto& id : runsc_list(c)) {
      if (skip(id)) continue;
      auto r = gvisor::run_command({c.runsc_path, "--root=" + c.state_dir, "--network=none",
                                    "--platform=ptrace", "delete", "--force", id},
                                   10s);
      lines.push_back("runsc container " + id +
                      (r.exit_code == 0 ? " deleted" : " delete failed: " + r.output));
    }
    if (int n = gvisor::remove_stale_runsc_locks(c.state_dir,
                                                 [&](const std::string& id) { return !skip(id); });
        n > 0)
      lines.push_back(std::to_string(n) + " stale runsc lock file(s) removed");
    for (const auto& id : Cgroup::list_children(c.cgroup_parent)) {
      if (skip(id)) continue;
      Cgroup cg(c.cgroup_parent, id);
      auto left = cg.remove();
      lines.push_back("cgroup /" + c.cgroup_parent + "/" + id +
                      (left.empty() ? " removed" : " not removed: " + left));
    }
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(host_->sessions_dir, ec)) {
      const std::string id = e.path().filename().string();
      if (skip(id)) continue;
      gvisor::unmount_workdir(e.path().string());
      std::filesystem::remove_all(e.path(), ec);
      lines.push_back("work dir " + e.path().string() + " removed");
    }
    if (c.isolate_instances) remove_dead_slots(&lines);
    if (int n = gvisor::reap_runsc_orphans(); n > 0)
      lines.push_back("reaped " + std::to_string(n) + " orphaned runsc processes");
    return lines;
  }

  // Another instance killed (-9) leaves its slot's containers, cgroups and work dirs behind; if
  // it restarts, it may take another slot and never see them. So every slot whose lock nobody
  // holds (its owner is gone) is emptied here, under its lock.
  void remove_dead_slots(std::vector<std::string>* lines) {
    for (int n = 0; n < 64; ++n) {
      if (n == slot_) continue;
      const std::string lock = base_.work_dir + ".slot-" + std::to_string(n) + ".lock";
      int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) continue;  // never used
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);  // a live instance owns it
        continue;
      }
      const std::string suffix = n > 0 ? "-" + std::to_string(n) : "";
      GvisorConfig dead = base_;
      dead.state_dir += suffix;
      dead.work_dir += suffix;
      dead.cgroup_parent += suffix;
      const std::string tag = "dead slot " + std::to_string(n) + ": ";
      for (const auto& id : runsc_list(dead)) {
        auto r = gvisor::run_command({dead.runsc_path, "--root=" + dead.state_dir, "--network=none",
                                      "--platform=ptrace", "delete", "--force", id},
                                     10s);
        lines->push_back(tag + "runsc container " + id +
                         (r.exit_code == 0 ? " deleted" : " delete failed: " + r.output));
      }
      for (const auto& id : Cgroup::list_children(dead.cgroup_parent)) {
        auto left = Cgroup(dead.cgroup_parent, id).remove();
        lines->push_back(tag + "cgroup /" + dead.cgroup_parent + "/" + id +
                         (left.empty() ? " removed" : " not removed: " + left));
      }
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(dead.work_dir + "/sessions", ec)) {
        std::error_code ec2;
        gvisor::unmount_workdir(e.path().string());
        std::filesystem::remove_all(e.path(), ec2);
        lines->push_back(tag + "work dir " + e.path().string() + " removed");
      }
      ::flock(fd, LOCK_UN);
      ::close(fd);
    }
  }

  void shutdown() override {
    std::vector<std::shared_ptr<Sandbox>> all;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (const auto& [cid, s] : all_) all.push_back(s);
    }
    for (auto& s : all) s->kill("backend shutdown");
    for (auto& s : all) s->join();
    join_finished();
    std::vector<std::thread> janitors;
    {
      std::lock_guard lock(mu_);
      janitors.swap(janitors_);
    }
    for (auto& t : janitors) t.join();
  }

 private:
  // Joins finished sandboxes, then refuses (as a failed launch) what this backend cannot start:
  // a host that failed to prepare, a session id that is not a container id. True if refused.
  bool refused(const LaunchSpec& ls) {
    join_finished();
    if (is_container_id(ls.session_id) && init_error_.empty()) return false;
    fail_launch(ls.session_id, !init_error_.empty()
                                   ? init_error_
                                   : "session id is not 32 lowercase hex characters");
    return true;
  }

  // Secrets reach a sandbox only through its allow-list proxy (launch and restore alike).
  static void pass_secrets(Sandbox& sandbox, const LaunchSpec& ls) {
    if (!ls.secrets.empty() && ls.spec.egress().mode() == "allow_list")
      sandbox.set_secrets(ls.secrets, ls.resolve_secret);
  }

  // Takes the first free instance slot and rewrites the dirs and cgroup parent for it.
  std::string acquire_slot(GvisorConfig* c) {
    std::error_code ec;
    const auto parent = std::filesystem::path(c->work_dir).parent_path();
    std::filesystem::create_directories(parent, ec);
    // The slot this data dir's server held last, first: its sandboxes may be waiting there.
    const int preferred = read_slot_file(c->slot_file);
    std::vector<int> order;
    if (preferred >= 0) order.push_back(preferred);
    for (int n = 0; n < 64; ++n)
      if (n != preferred) order.push_back(n);
    for (int n : order) {
      const std::string lock = c->work_dir + ".slot-" + std::to_string(n) + ".lock";
      int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) return "open " + lock + ": " + std::strerror(errno);
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        continue;
      }
      slot_lock_fd_ = fd;
      slot_ = n;
      write_slot_file(c->slot_file, n);
      if (n > 0) {
        const std::string suffix = "-" + std::to_string(n);
        c->state_dir += suffix;
        c->work_dir += suffix;
        c->cgroup_parent += suffix;
      }
      return "";
    }
    return "all 64 instance slots under " + c->work_dir + " are taken";
  }

  std::string prepare_host() {
    const auto& c = host_->config;
    std::error_code ec;
    for (const auto& d : {c.state_dir, c.work_dir, host_->runtime_dir, host_->sessions_dir}) {
      std::filesystem::create_directories(d, ec);
      if (ec) return "create " + d + ": " + ec.message();
    }
    // Private at rest: runsc's state (it lists session ids) and every session's dir (bundle with
    // the env, io with the code) are root-only. Only the runner sources, which the sandbox user
    // reads inside, keep read bits — and they sit behind the 0700 work dir.
    ::chmod(c.state_dir.c_str(), 0700);
    ::chmod(c.work_dir.c_str(), 0700);
    ::chmod(host_->sessions_dir.c_str(), 0700);
    ::chmod(host_->runtime_dir.c_str(), 0755);
    if (auto e = gvisor::prepare_rootfs(host_->rootfs); !e.empty()) return e;
    for (const auto& [file, text] :
         {std::pair{"runner.py", runner::kRunnerPy}, std::pair{"runner.js", runner::kRunnerJs},
          std::pair{"runner_bash.py", runner::kRunnerBash}}) {
      const std::string path = host_->runtime_dir + "/" + file;
      if (!gvisor::write_file(path, text)) return "write " + path;
      ::chmod(path.c_str(), 0644);
    }
    return "";
  }

  // The egress CA (in memory only), the upstream verifier and the sandboxes' trust bundle.
  static void make_egress_tls(HostLayout* host) {
    std::string error;
    host->ca = gvisor::EgressCa::create(&error);
    if (host->ca)
      host->upstream_tls = gvisor::upstream_tls_context(host->config.egress_upstream_ca, &error);
    if (!host->ca || !host->upstream_tls) {
      host->tls_error = error;  // HTTPS to a secret's host is then refused: tls_unavailable
      return;
    }
    // The system's CAs (so that other HTTPS keeps working with SSL_CERT_FILE set), then ours.
    std::ifstream in("/etc/ssl/certs/ca-certificates.crt", std::ios::binary);
    std::string system((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (system.size() > (8u << 20)) system.clear();
    host->trust_bundle = system + "\n" + host->ca->cert_pem();
  }

  std::shared_ptr<Sandbox> make_sandbox(const std::string& container_id,
                                        const events::SessionSpec& spec,
                                        const std::string& session_id) {
    auto s = std::make_shared<Sandbox>(host_, container_id, spec, session_id, sink_,
                                       [this](const std::string& cid) { on_finished(cid); });
    s->set_on_detached([this](const std::string& cid) { on_detached(cid); });
    all_[container_id] = s;
    return s;
  }

  void refill_pool_locked() {
    if (stopping_ || !init_error_.empty()) return;
    // One pool per image: the default image's, and each configured built image's.
    std::map<std::string, int> want = host_->config.image_pools;
    want[""] = host_->config.warm_pool_size;
    for (const auto& p : pool_) --want[p->image_digest()];
    for (auto& [digest, missing] : want) {
      for (; missing > 0; --missing) {
        events::SessionSpec spec;
        spec.set_exec_mode(events::EXEC_MODE_INTERACTIVE);
        spec.set_image_digest(digest);
        auto s = make_sandbox(random_id(), spec, "");
        pool_.push_back(s);
        s->start_thread();
      }
    }
  }

  void on_finished(const std::string& cid) {
    std::lock_guard lock(mu_);
    auto it = all_.find(cid);
    if (it == all_.end()) return;
    finished_.push_back(it->second);
    const bool left = !it->second->teardown_left().empty();
    all_.erase(it);
    if (auto so = session_of_.find(cid); so != session_of_.end()) {
      if (left) left_behind_[so->second] = cid;  // kill() retries under this container id
      sessions_.erase(so->second);
      session_of_.erase(so);
    }
    for (auto p = pool_.begin(); p != pool_.end(); ++p) {
      if ((*p)->container_id() == cid) {
        pool_.erase(p);  // an idle kernel died: replace it (unless the host cannot start any)
        ++pool_failures_;
        break;
      }
    }
    if (!stopping_ && pool_failures_ < 3) refill_pool_locked();
  }

  // A paused sandbox no longer belongs to its session (which may be restored at once).
  void on_detached(const std::string& cid) {
    std::lock_guard lock(mu_);
    if (auto so = session_of_.find(cid); so != session_of_.end()) {
      if (auto it = sessions_.find(so->second);
          it != sessions_.end() && it->second && it->second->container_id() == cid)
        sessions_.erase(it);
      session_of_.erase(so);
    }
  }

  void join_finished() {
    std::vector<std::shared_ptr<Sandbox>> done;
    {
      std::lock_guard lock(mu_);
      done.swap(finished_);
    }
    for (auto& s : done) s->join();
  }

  bool stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  std::string workdir(const std::string& session_id) const override {
    std::shared_ptr<Sandbox> s;
    {
      std::lock_guard lock(mu_);
      auto it = sessions_.find(session_id);
      if (it != sessions_.end()) s = it->second;
    }
    return s ? s->workdir() : "";
  }

  std::shared_ptr<Sandbox> find(const std::string& session_id) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session_id);
    return it == sessions_.end() ? nullptr : it->second;
  }

  void fail_launch(const std::string& session_id, const std::string& why) {
    Exited ex;
    ex.exit.set_exit_code(-1);
    ex.exit.set_detail("sandbox could not be created: " + why);
    sink_(session_id, std::move(ex));
    sink_(session_id, Removed{"nothing was created"});
  }

  Sink sink_;
  std::shared_ptr<const HostLayout> host_;
  std::string init_error_;
  int slot_lock_fd_ = -1;  // flock held while this backend owns its slot
  int slot_ = 0;           // which slot (0 when instances are not isolated)
  GvisorConfig base_;      // the configuration as given, before the slot suffix
  mutable std::mutex mu_;
  bool stopping_ = false;
  int pool_failures_ = 0;
  std::map<std::string, std::shared_ptr<Sandbox>> all_;       // by container id
  std::map<std::string, std::shared_ptr<Sandbox>> sessions_;  // by session id
  std::map<std::string, std::string> session_of_;             // container id -> session id
  std::map<std::string, std::string> left_behind_;  // session id -> container id, teardown left
  std::vector<std::shared_ptr<Sandbox>> pool_;      // idle, unassigned kernels
  std::vector<std::shared_ptr<Sandbox>> finished_;  // threads to join
  std::vector<std::thread> janitors_;               // leftover removal for kill()
  std::vector<std::string> adopt_log_;  // adoption verdicts, logged by cleanup_orphans()
};

}  // namespace

namespace {

// Runs `enclave.result(41 + 1)` in a real sandbox; "" or what went wrong.
std::string smoke_run(const GvisorConfig& config, int64_t* cold_ms) {
  GvisorConfig c = config;
  c.slot_file.clear();  // the probe's slot is not the server's
  c.warm_pool_size = 0;
  c.image_pools.clear();
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Exited> exited;
  bool removed = false;
  const auto t0 = std::chrono::steady_clock::now();
  auto backend = make_gvisor_backend(c, [&](const std::string&, Event e) {
    std::lock_guard lock(mu);
    if (auto* x = std::get_if<Exited>(&e)) exited = std::move(*x);
    if (std::holds_alternative<Removed>(e)) removed = true;
    cv.notify_all();
  });
  const std::string id = random_id();
  events::SessionSpec spec;
  spec.set_code("enclave.result(41 + 1)\n");
  backend->launch(LaunchSpec{id, spec});
  std::unique_lock lock(mu);
  const bool done = cv.wait_for(lock, 30s, [&] { return removed; });
  *cold_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  lock.unlock();
  backend->shutdown();
  if (!done) return "a test sandbox did not finish within 30 s";
  if (!exited) return "a test sandbox reported no exit";
  if (exited->exit.exit_code() != 0 || exited->exit.json() != "42")
    return "a test sandbox failed (exit " + std::to_string(exited->exit.exit_code()) +
           "): " + exited->exit.detail() + " " + exited->exit.stderr().substr(0, 2000);
  return "";
}

}  // namespace

ProbeResult probe_gvisor(const GvisorConfig& c, bool smoke) {
  ProbeResult r;
  if (::geteuid() != 0) {
    r.message =
        "the gvisor backend needs root (runsc creates namespaces and cgroups); run "
        "enclaved as root or use --backend=simulator";
    return r;
  }
  if (::access(c.runsc_path.c_str(), X_OK) != 0) {
    r.message = c.runsc_path +
                " is not executable: install gVisor (`apt-get install runsc`) or "
                "point the runsc path at it";
    return r;
  }
  auto v = gvisor::run_command({c.runsc_path, "--version"}, 10s);
  if (v.exit_code != 0) {
    r.message = c.runsc_path + " --version failed: " + v.output;
    return r;
  }
  for (const auto& ctl : Cgroup::controllers()) {
    const std::string d = std::string(Cgroup::kRoot) + "/" + ctl;
    if (::access((d + "/tasks").c_str(), F_OK) != 0) {
      r.message = "cgroup v1 controller '" + ctl + "' is not mounted at " + d +
                  " (this backend needs cgroup v1 / hybrid: boot with "
                  "systemd.unified_cgroup_hierarchy=0)";
      return r;
    }
  }
  if (::access("/usr/bin/python3", X_OK) != 0) {
    r.message = "/usr/bin/python3 is missing: `apt-get install python3`";
    return r;
  }
  std::string version = v.output.substr(0, v.output.find('\n'));
  r.message = version + "; cgroup v1 ok; /usr/bin/python3 ok; platform ptrace, network none";
  if (smoke) {
    int64_t ms = 0;
    if (auto e = smoke_run(c, &ms); !e.empty()) {
      r.message = "runsc is installed but cannot run sandboxes here: " + e +
                  " (needs root, cgroup v1, ptrace allowed; see backends/gvisor/README.md)";
      return r;
    }
    r.message += "; test sandbox ran in " + std::to_string(ms) + " ms";
  }
  r.ok = true;
  return r;
}

std::unique_ptr<Backend> make_gvisor_backend(GvisorConfig config, Sink sink) {
  return std::make_unique<GvisorBackend>(std::move(config), std::move(sink));
}

}  // namespace enclave::backends
