#include "backends/gvisor/sandbox.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "backends/gvisor/checkpoint_image.h"
#include "backends/gvisor/exit_report.h"
#include "backends/gvisor/oci_bundle.h"
#include "backends/gvisor/process.h"
#include "backends/gvisor/sandbox_util.h"
#include "backends/gvisor/workdir.h"
#include "events/codec/json_string.h"
#include "events/requests/session_request.h"
#include "storage/images/store.h"

namespace enclave::backends::gvisor {
namespace {

using namespace std::chrono_literals;

constexpr int kDefaultMemoryMb = 256;
constexpr int kDefaultCpuMillis = 1000;
constexpr int kDefaultPids = 64;
constexpr int kDefaultDiskMb = enclave::kDefaultDiskMb;  // the request's default (pool kernels)
constexpr int kDefaultWallClockSeconds = 30;
constexpr auto kDrainAfterExit = 1500ms;  // output still in pipes after runsc exited
constexpr auto kKillEscalation = 3s;      // runsc kill did not end `runsc run`: SIGKILL it
// A turn past its timeout gets SIGINT (KeyboardInterrupt); if it has not finished this long
// after, the kernel is given up (the session is killed). Generous: under ptrace on a loaded
// machine unwinding and sending the traceback can take a second.
constexpr auto kTurnInterruptGrace = 3s;
constexpr const char* kBackstopReason = "wall clock backstop (limits.wall_clock_seconds + grace)";

int or_default(int v, int d) { return v > 0 ? v : d; }

// Host tasks the ptrace platform needs: ~14 per sandboxed process (64 inside ~ 900 on the host),
// so the host cgroup is only a backstop against runaway, never the limit the workload meets.
int host_pids_for(const GvisorConfig& c, int pids) {
  return std::max(c.host_pids_max, 16 * or_default(pids, kDefaultPids) + 256);
}

bool valid_env_key(const std::string& k) {
  return !k.empty() && k.find('=') == std::string::npos && k.find('\0') == std::string::npos;
}

// The image a spec runs on, as the pools key it: a built digest, or "" for default.
std::string image_key(const events::SessionSpec& spec) {
  return images::valid_built_digest(spec.image_digest()) ? spec.image_digest() : "";
}

}  // namespace

Exited Sandbox::with_artifacts(Exited ex) {
  // A batch run's artifacts, read before the sandbox (and its working directory) goes.
  if (!interactive_) ex.artifacts = collect_artifacts(dir_, spec_);
  return ex;
}

std::string Sandbox::workdir() const {
  std::lock_guard lock(mu_);
  return workdir_ready_ ? workdir_path(host_->sessions_dir + "/" + container_id_) : "";
}

RunnerCommand runner_for(const std::string& language) {
  // python3 -I: no environment, no user site, no script dir on sys.path; -S: no site import
  // (runner.py recreates its effects without the .pth hooks); -B: no .pyc writes.
  const std::vector<std::string> python = {"/usr/bin/python3", "-I", "-S", "-B"};
  if (language == "javascript") return {{"/usr/bin/node"}, "runner.js", "code.js"};
  if (language == "bash") return {python, "runner_bash.py", "code.sh"};
  return {python, "runner.py", "code.py"};
}

Sandbox::Sandbox(std::shared_ptr<const HostLayout> host, std::string container_id,
                 events::SessionSpec spec, std::string session_id, Sink sink, Finished finished)
    : host_(std::move(host)),
      container_id_(std::move(container_id)),
      interactive_(spec.exec_mode() == events::EXEC_MODE_INTERACTIVE),
      create_spec_(std::move(spec)),
      sink_(std::move(sink)),
      finished_cb_(std::move(finished)),
      session_id_(std::move(session_id)),
      cgroup_(host_->config.cgroup_parent, container_id_) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  out_.cap = err_.cap = host_->config.output_cap_bytes;
  live_ = LiveOutputCap(host_->config.output_cap_bytes);
  if (!session_id_.empty()) {
    spec_ = create_spec_;
    // A cold interactive session is assigned at once: its setup frame waits in the stdin pipe.
    if (interactive_) commands_.push_back(Command{Command::kAssign, create_spec_, 0, {}, 0});
    uint64_t one = 1;
    (void)::write(wake_fd_, &one, sizeof one);
  }
}

Sandbox::~Sandbox() {
  join();
  close_fd(&wake_fd_);
}

void Sandbox::start_thread() {
  thread_ = std::thread([this] { run(); });
}

void Sandbox::join() {
  if (thread_.joinable()) thread_.join();
}

bool Sandbox::finished() const {
  std::lock_guard lock(mu_);
  return done_;
}

std::string Sandbox::image_digest() const { return image_key(create_spec_); }

bool Sandbox::can_assign(const events::SessionSpec& spec) const {
  const auto& l = spec.limits();
  const auto& c = create_spec_.limits();
  // Lowering memory.limit_in_bytes below what the idle kernel already uses would fail.
  constexpr int kMinPoolMemoryMb = 64;
  // A batch session fits if it is Python without stdin (the kernel's stdin is its protocol): it
  // runs once as the kernel's setup, which then exits with the workload's status.
  const bool batch_fits = spec.exec_mode() != events::EXEC_MODE_INTERACTIVE && spec.stdin().empty();
  // Pool kernels are Python, each on one image (the default's pool, or a built image's).
  const bool python = spec.language().empty() || spec.language() == "python";
  const bool same_image = image_key(spec) == image_digest();
  return python && same_image &&
         (spec.exec_mode() == events::EXEC_MODE_INTERACTIVE || batch_fits) &&
         or_default(l.memory_mb(), kDefaultMemoryMb) >= kMinPoolMemoryMb &&
         (spec.egress().mode().empty() || spec.egress().mode() == "deny_all") &&
         or_default(l.disk_mb(), kDefaultDiskMb) == or_default(c.disk_mb(), kDefaultDiskMb) &&
         or_default(l.pids(), kDefaultPids) <= or_default(c.pids(), kDefaultPids);
}

bool Sandbox::assign(const std::string& session_id, const events::SessionSpec& spec) {
  std::lock_guard lock(mu_);
  if (!accepting_ || !session_id_.empty()) return false;
  session_id_ = session_id;
  commands_.push_back(Command{Command::kAssign, spec, 0, {}, 0});
  uint64_t one = 1;
  (void)::write(wake_fd_, &one, sizeof one);
  return true;
}

void Sandbox::exec_turn(uint32_t turn, std::string code, int64_t timeout_ms) {
  std::lock_guard lock(mu_);
  commands_.push_back(Command{Command::kTurn, {}, turn, std::move(code), timeout_ms});
  uint64_t one = 1;
  (void)::write(wake_fd_, &one, sizeof one);
}

void Sandbox::checkpoint(std::string image_dir, bool leave_running) {
  std::lock_guard lock(mu_);
  commands_.push_back(
      Command{Command::kCheckpoint, {}, leave_running ? 1u : 0u, std::move(image_dir), 0});
  uint64_t one = 1;
  (void)::write(wake_fd_, &one, sizeof one);
}

void Sandbox::kill(std::string reason) {
  std::lock_guard lock(mu_);
  commands_.push_back(Command{Command::kKill, {}, 0, std::move(reason), 0});
  uint64_t one = 1;
  (void)::write(wake_fd_, &one, sizeof one);
}

void Sandbox::emit(Event event) {
  std::string sid;
  {
    std::lock_guard lock(mu_);
    if (detached_) return;  // paused away: the session no longer has this sandbox
    sid = session_id_;
  }
  if (!sid.empty() && sink_) sink_(sid, std::move(event));
}

std::vector<std::string> Sandbox::runsc_argv(std::initializer_list<std::string> tail_args) const {
  std::vector<std::string> argv = {
      host_->config.runsc_path, "--root=" + host_->config.state_dir,
      "--network=none",         "--platform=ptrace",
      "--host-uds=open",        "--pod-init-config=" + dir_ + "/pod.json"};
  argv.insert(argv.end(), tail_args);
  return argv;
}

void Sandbox::run() {
  // Writing to a stdin pipe the workload closed must give EPIPE, not kill the server.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  dir_ = host_->sessions_dir + "/" + container_id_;
  // An adopted sandbox was prepared by prepare_adoption(): the kernel is asked to reconnect.
  std::string error = adopted_ ? "" : prepare_and_spawn();
  if (adopted_) queue_stdin('C', 0, "");
  if (error.empty()) loop();
  teardown(error);
  Finished cb;
  {
    std::lock_guard lock(mu_);
    done_ = true;
    accepting_ = false;
    cb = finished_cb_;
  }
  if (cb) cb(container_id_);
}

// The isolation steps, in order; stops at the first failure.
std::string Sandbox::prepare_and_spawn() {
  const auto& limits = create_spec_.limits();
  std::error_code ec;
  // 0. A restore reads an image from the data dir: hostile until its size and hash match what
  //    was recorded when it was taken.
  if (!restore_image_.empty()) {
    if (auto e = check_image(restore_image_, restore_sha256_, restore_max_bytes_); !e.empty())
      return "checkpoint image refused: " + e;
  }
  // 1. A private dir for this sandbox: bundle, pod-init config, trace socket, and the io dir the
  //    sandbox sees read-only at /opt/enclave-io (code, result channel, proxy socket).
  std::filesystem::create_directories(dir_ + "/io", ec);
  if (ec) return "create " + dir_ + ": " + ec.message();
  // The session dir is root-only (0700): no other host uid reaches the bundle (env) or the io
  // files below it. io itself and code.py keep read bits because the sandbox user (65534) reads
  // them inside gVisor, which applies these modes (test: private_at_rest.gvisor).
  ::chmod(dir_.c_str(), 0700);
  ::chmod((dir_ + "/io").c_str(), 0755);
  const auto runner = runner_for(create_spec_.language());
  if (!interactive_ && !write_file(dir_ + "/io/" + runner.code_file, create_spec_.code()))
    return "write " + runner.code_file + ": " + std::string(std::strerror(errno));
  ::chmod((dir_ + "/io/" + runner.code_file).c_str(), 0644);
  // The image: a built one is the whole root (read-only); default is the host's /usr.
  std::string rootfs = host_->rootfs;
  const bool built_image = images::valid_built_digest(create_spec_.image_digest());
  if (built_image) {
    rootfs = images::rootfs_dir(host_->config.images_dir, create_spec_.image_digest());
    if (host_->config.images_dir.empty() || !std::filesystem::is_directory(rootfs, ec))
      return "image " + create_spec_.image() + " (" + create_spec_.image_digest() +
             ") is not in this server's image store";
  }

  // 1b. The working directory (/home/user): a tmpfs of limits.diskMb on the host, and a batch
  //     request's staged files in it (an interactive session's are staged when it is assigned).
  if (auto e = mount_workdir(dir_, or_default(limits.disk_mb(), kDefaultDiskMb)); !e.empty())
    return e;
  {
    std::lock_guard lock(mu_);
    workdir_ready_ = true;
  }
  if (!interactive_) {
    if (auto e = stage_files(dir_, create_spec_); !e.empty()) return e;
  }
  if (!restore_image_.empty()) {  // its files, saved beside the image at the checkpoint
    if (auto e = restore_workdir(restore_image_, dir_); !e.empty()) return e;
  }

  // 2. cgroups we own (runsc ignores linux.resources for pre-existing ones; see NOTES).
  if (auto e = cgroup_.create(); !e.empty()) return "cgroup: " + e;
  CgroupLimits cl;
  cl.memory_bytes = static_cast<uint64_t>(or_default(limits.memory_mb(), kDefaultMemoryMb)) << 20;
  cl.cpu_millis = or_default(limits.cpu_millis(), kDefaultCpuMillis);
  cl.host_pids_max = host_pids_for(host_->config, limits.pids());
  // An unassigned pool kernel boots and idles at the lowest CPU weight; assignment restores it.
  // (An assignment racing with this is applied by its kAssign command, after the spawn.)
  {
    std::lock_guard lock(mu_);
    background_ = session_id_.empty();
    if (background_) cl.cpu_shares = CgroupLimits::kIdleCpuShares;
  }
  if (auto e = cgroup_.apply(cl); !e.empty()) return "cgroup: " + e;

  // 3. Channels: the runner's result channel and the egress trace sink (runsc fails closed
  //    without it).
  const uint64_t max_frame =
      std::max(host_->config.output_cap_bytes, host_->config.result_cap_bytes) + 64;
  if (auto e = channel_.listen(dir_ + "/io/channel.sock", max_frame); !e.empty()) return e;
  if (auto e = trace_.listen(dir_ + "/trace.sock"); !e.empty()) return e;
  const bool allow_list = create_spec_.egress().mode() == "allow_list";
  if (allow_list) {
    // The only way out: our proxy, reachable through a socket in the io dir (runner shim).
    proxy_ = std::make_unique<EgressProxy>();
    std::vector<std::string> allow(create_spec_.egress().allow().begin(),
                                   create_spec_.egress().allow().end());
    auto report = [this](ConnectAttempt a) {  // on the proxy's thread: hand over to ours
      std::lock_guard lock(mu_);
      egress_reports_.push_back(std::move(a));
      commands_.push_back(Command{Command::kDenied, {}, 0, {}, 0});
      uint64_t one = 1;
      (void)::write(wake_fd_, &one, sizeof one);
    };
    if (!secrets_.empty()) {
      EgressProxy::Secrets inj;
      inj.bindings = secrets_;
      inj.resolve = resolve_secret_;
      inj.ca = host_->ca;
      inj.upstream_tls = host_->upstream_tls;
      inj.report_use = [this](secrets::Use u) {  // on a proxy thread: hand over to ours
        std::lock_guard lock(mu_);
        secret_uses_.push_back(std::move(u));
        commands_.push_back(Command{Command::kDenied, {}, 0, {}, 0});
        uint64_t one = 1;
        (void)::write(wake_fd_, &one, sizeof one);
      };
      inj.now_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
      };
      proxy_->inject(std::move(inj));
      // What the sandbox trusts: the system's CAs and the server's egress CA (public part only).
      if (!write_file(dir_ + "/io/ca-bundle.pem", host_->trust_bundle) ||
          !write_file(dir_ + "/io/enclave-ca.pem", host_->ca ? host_->ca->cert_pem() : ""))
        return "write CA bundle: " + std::string(std::strerror(errno));
      ::chmod((dir_ + "/io/ca-bundle.pem").c_str(), 0644);
      ::chmod((dir_ + "/io/enclave-ca.pem").c_str(), 0644);
    }
    auto e = proxy_->start(dir_ + "/io/proxy.sock", allow, host_->config.egress_policy, report);
    if (!e.empty()) return e;
  }

  // 4. Bundle: config.json over the shared rootfs; env is ours plus the spec's, never the host's.
  BundleSpec b;
  b.rootfs = rootfs;
  b.bind_host_usr = !built_image;
  b.runtime_dir = host_->runtime_dir;
  b.session_dir = dir_ + "/io";
  b.home_dir = workdir_path(dir_);
  b.args = runner.interpreter;
  b.args.push_back(std::string(kRuntimeMount) + "/" + runner.script);
  b.args.push_back(interactive_ ? "kernel" : "batch");
  b.args.push_back(std::to_string(host_->config.output_cap_bytes));
  b.args.push_back(std::to_string(host_->config.result_cap_bytes));
  b.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
           {"HOME", "/home/user"},
           {"LANG", "C.UTF-8"},
           // Charts render to PNG results (issue 21): no display, ever.
           {"MPLBACKEND", "Agg"}};
  if (allow_list) {
    for (const char* k : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"})
      b.env.emplace_back(k, "http://127.0.0.1:3128");
    if (!secrets_.empty()) {
      const std::string bundle = std::string(kSessionMount) + "/ca-bundle.pem";
      for (const char* k :
           {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "PIP_CERT"})
        b.env.emplace_back(k, bundle);
      b.env.emplace_back("NODE_EXTRA_CA_CERTS", std::string(kSessionMount) + "/enclave-ca.pem");
    }
  }
  for (const auto& [k, v] : create_spec_.env()) {
    const bool ours =
        std::any_of(b.env.begin(), b.env.end(), [&](const auto& e) { return e.first == k; });
    if (valid_env_key(k) && !ours) b.env.emplace_back(k, v);
  }
  b.tmp_mb = or_default(limits.disk_mb(), kDefaultDiskMb);
  b.nproc = or_default(limits.pids(), kDefaultPids);
  b.cgroups_path = cgroup_.path();
  std::filesystem::create_directories(dir_ + "/bundle", ec);
  ::chmod((dir_ + "/bundle").c_str(), 0700);
  if (!write_file(dir_ + "/bundle/config.json", oci_config_json(b)) ||
      !write_file(dir_ + "/pod.json", pod_init_config_json(dir_ + "/trace.sock")))
    return "write bundle: " + std::string(std::strerror(errno));
  ::chmod((dir_ + "/bundle/config.json").c_str(), 0600);  // holds the session's env values
  ::chmod((dir_ + "/pod.json").c_str(), 0600);

  // 5. `runsc run` (or `runsc restore`) with our pipes as stdio; its exit status is the
  //    workload's.
  spawned_at_ = Clock::now();
  if (auto e = spawn_runsc(restore_image_); !e.empty()) return e;
  if (!interactive_) {
    stdin_pending_ = create_spec_.stdin();
    close_stdin_when_flushed_ = true;
    flush_stdin();
    const int wall = or_default(limits.wall_clock_seconds(), kDefaultWallClockSeconds);
    deadline_ = spawned_at_ + std::chrono::seconds(wall + host_->config.wall_clock_grace_seconds);
    assigned_at_ = spawned_at_;
  }
  return "";
}

std::string Sandbox::spawn_runsc(const std::string& image) {
  // Interactive sandboxes may outlive this process (adoption after kill -9): named FIFOs as
  // stdio and a session of their own. A batch keeps pipes: its stdin must reach EOF.
  const bool adoptable = create_spec_.exec_mode() == events::EXEC_MODE_INTERACTIVE;
  int child[3] = {-1, -1, -1};
  if (adoptable) {
    if (auto e = make_stdio_fifos(child); !e.empty()) return e;
  } else {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return "pipe: " + std::string(std::strerror(errno));
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]), ::close(in[1]);
      return "pipe: " + std::string(std::strerror(errno));
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
      return "pipe: " + std::string(std::strerror(errno));
    }
    child[0] = in[0], child[1] = out[1], child[2] = err[1];
    stdin_fd_ = in[1];
    stdout_fd_ = out[0];
    stderr_fd_ = err[0];
  }
  std::string spawn_error;
  const std::string bundle = "--bundle=" + dir_ + "/bundle";
  child_ = spawn(
      image.empty() ? runsc_argv({"run", bundle, container_id_})
                    : runsc_argv({"restore", "--image-path=" + image, bundle, container_id_}),
      child[0], child[1], child[2], &spawn_error, background_ ? kBackgroundNice : 0, adoptable);
  for (int fd : child) ::close(fd);
  if (child_ < 0) return spawn_error;
  for (int fd : {stdin_fd_, stdout_fd_, stderr_fd_}) ::fcntl(fd, F_SETFL, O_NONBLOCK);
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, child_, 0));
  if (pidfd_ < 0) return "pidfd_open: " + std::string(std::strerror(errno));
  return "";
}

void Sandbox::queue_stdin(char kind, uint32_t turn, const std::string& payload) {
  std::string frame;
  const auto len = static_cast<uint32_t>(payload.size());
  for (int shift : {24, 16, 8, 0}) frame += static_cast<char>((len >> shift) & 0xff);
  frame += kind;
  for (int shift : {24, 16, 8, 0}) frame += static_cast<char>((turn >> shift) & 0xff);
  frame += payload;
  stdin_pending_ += frame;
  flush_stdin();
}

void Sandbox::flush_stdin() {
  while (stdin_fd_ >= 0 && !stdin_pending_.empty()) {
    ssize_t n = ::write(stdin_fd_, stdin_pending_.data(), stdin_pending_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) {  // EPIPE: the workload closed stdin
      stdin_pending_.clear();
      close_fd(&stdin_fd_);
      return;
    }
    stdin_pending_.erase(0, static_cast<size_t>(n));
  }
  if (stdin_pending_.empty() && close_stdin_when_flushed_) close_fd(&stdin_fd_);
}

void Sandbox::handle_commands() {
  uint64_t v;
  (void)::read(wake_fd_, &v, sizeof v);
  std::deque<Command> cmds;
  {
    std::lock_guard lock(mu_);
    cmds.swap(commands_);
  }
  for (auto& c : cmds) {
    switch (c.kind) {
      case Command::kAssign: {
        spec_ = c.spec;
        assigned_at_ = Clock::now();
        if (background_) {
          // Its boot ran at the lowest priority; from now on it is a session's, at a cold
          // sandbox's: the backend's own nice value, which a cold `runsc run` inherits (the
          // `runsc run` process and every task in its cgroup).
          background_ = false;
          const int ours = nice_of(0);
          (void)renice_tasks(child_, cgroup_.dir("cpu") + "/tasks", ours == -100 ? 0 : ours);
        }
        if (!restore_image_.empty()) {
          // A restored kernel keeps its namespace: no setup, it only reconnects its channel
          // and answers S (Started). Same backstop as a setup.
          queue_stdin('C', 0, "");
          deadline_ =
              assigned_at_ + std::chrono::seconds(or_default(spec_.limits().wall_clock_seconds(),
                                                             kDefaultWallClockSeconds) +
                                                  host_->config.wall_clock_grace_seconds);
          break;
        }
        // Meter from here: a pool kernel's idle time before assignment is not the session's.
        cpu_ns_at_assign_ = cgroup_.usage().cpu_ns;
        (void)write_file(cgroup_.dir("memory") + "/memory.max_usage_in_bytes", "0");
        const auto& l = spec_.limits();
        CgroupLimits cl;
        cl.memory_bytes = static_cast<uint64_t>(or_default(l.memory_mb(), kDefaultMemoryMb)) << 20;
        cl.cpu_millis = or_default(l.cpu_millis(), kDefaultCpuMillis);
        cl.host_pids_max = host_pids_for(host_->config, l.pids());
        if (auto e = cgroup_.apply(cl); !e.empty()) {
          err_.append(e.data(), e.size());
          request_kill("assign: " + e);
          break;
        }
        std::string env;
        for (const auto& [k, val] : spec_.env()) {
          if (!valid_env_key(k)) continue;
          if (!env.empty()) env += ',';
          env += json_quote(k);
          env += ':';
          env += json_quote(val);
        }
        if (auto e = stage_files(dir_, spec_); !e.empty()) {
          err_.append(e.data(), e.size());
          request_kill("assign: " + e);
          break;
        }
        const bool batch = spec_.exec_mode() != events::EXEC_MODE_INTERACTIVE;
        const std::string setup =
            "{\"env\":{" + env +
            "},\"nproc\":" + std::to_string(or_default(l.pids(), kDefaultPids)) +
            ",\"code\":" + json_quote(spec_.code()) + (batch ? ",\"batch\":true}" : "}");
        queue_stdin('A', 0, setup);
        if (batch) {
          // A pool kernel becomes this one-shot: the workload starts now, and the sandbox's
          // exit is the workload's (reported exactly like a cold batch sandbox's).
          interactive_ = false;
          if (!started_reported_) {
            started_reported_ = true;
            emit(Started{container_id_});
          }
        }
        const int wall = or_default(l.wall_clock_seconds(), kDefaultWallClockSeconds);
        deadline_ =
            assigned_at_ + std::chrono::seconds(wall + host_->config.wall_clock_grace_seconds);
        break;
      }
      case Command::kTurn: {
        TurnDone refused;
        refused.turn.set_turn(c.turn);
        refused.turn.set_code_sha256(sha256_hex(c.text));
        refused.turn.set_has_exit_code(false);
        if (exited_ || kill_requested_ || kernel_broken_ || turn_ || !interactive_ || ckpt_) {
          refused.turn.set_stderr(turn_ ? "a turn is already running"
                                        : "the session's kernel is not running");
          emit(std::move(refused));
          break;
        }
        Turn t;
        t.turn = c.turn;
        t.code_sha256 = refused.turn.code_sha256();
        t.started = Clock::now();
        // No timeout given: the session's per-turn wall clock.
        const int64_t timeout_ms =
            c.timeout_ms > 0 ? c.timeout_ms
                             : int64_t{1000} * or_default(spec_.limits().wall_clock_seconds(),
                                                          kDefaultWallClockSeconds);
        t.deadline = t.started + std::chrono::milliseconds(timeout_ms);
        turn_ = std::move(t);
        live_.reset();  // each turn's live output has its own cap
        queue_stdin('T', c.turn, c.text);
        break;
      }
      case Command::kKill:
        request_kill(c.text);
        break;
      case Command::kDenied:
        report_egress();
        break;
      case Command::kCheckpoint:
        begin_checkpoint(c.text, c.turn != 0);
        break;
    }
  }
}

void Sandbox::finish_turn(bool timed_out, int exit_code, uint64_t duration_ms, bool interrupted) {
  TurnDone done;
  auto& t = done.turn;
  t.set_turn(turn_->turn);
  t.set_code_sha256(turn_->code_sha256);
  t.set_stdout(std::move(turn_->out));
  t.set_stderr(std::move(turn_->err));
  t.set_json(std::move(turn_->json));
  for (auto& r : turn_->results) *t.add_results() = std::move(r);
  t.set_timed_out(timed_out);
  t.set_interrupted(timed_out && interrupted);
  t.set_has_exit_code(!timed_out);
  if (!timed_out) t.set_exit_code(exit_code);
  t.set_duration_ms(duration_ms);
  t.set_metered_ms(std::max<uint64_t>(duration_ms, 1));
  if (cpu_metering_) t.set_cpu_ms(cpu_ms_since_ready());
  turn_ms_total_ += t.metered_ms();
  turn_.reset();
  emit(std::move(done));
}

uint64_t Sandbox::cpu_ms_since_ready() const {
  if (!cpu_metering_) return 0;
  const uint64_t ns = cgroup_.cpu_ns();
  return ns > cpu_ns_at_ready_ ? (ns - cpu_ns_at_ready_) / 1'000'000 : 0;
}

void Sandbox::sample_cpu() {
  constexpr uint64_t kMinMovedMs = 20;  // an idle kernel's noise is not worth a message
  const uint64_t ms = cpu_ms_since_ready();
  if (ms < cpu_ms_sent_ + kMinMovedMs) return;
  cpu_ms_sent_ = ms;
  emit(CpuUsage{ms});
}

void Sandbox::request_kill(const std::string& reason) {
  if (kill_requested_) return;
  kill_requested_ = true;
  kill_reason_ = reason;
  {
    std::lock_guard lock(mu_);
    accepting_ = false;
  }
  if (exited_) return;
  auto r = run_command(runsc_argv({"kill", container_id_, "KILL"}), 5s);
  (void)r;  // may fail if the container is not created yet; escalation covers it
  kill_escalate_at_ = Clock::now() + kKillEscalation;
}

ExitFacts Sandbox::exit_facts(const std::string& start_error, Clock::time_point ended,
                              int wait_status) {
  ExitFacts facts;
  facts.start_error = start_error;
  facts.runner_connected = runner_connected_;
  facts.kill_requested = kill_requested_;
  facts.killed_by_backstop = kill_reason_ == kBackstopReason;
  facts.kill_reason = kill_reason_;
  facts.wait_status = wait_status;
  facts.usage = cgroup_.usage();
  facts.cpu_ns_at_assign = cpu_ns_at_assign_;
  facts.out = std::move(out_);
  facts.err = std::move(err_);
  facts.result_json = std::move(result_json_);
  facts.wall_ms =
      ms_between(assigned_at_ == Clock::time_point{} ? spawned_at_ : assigned_at_, ended);
  facts.turn_ms_total = turn_ms_total_;
  return facts;
}

void Sandbox::drain_trace() {
  for (int fd : trace_.fds()) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) continue;
    std::vector<ConnectAttempt> attempts;
    trace_.on_readable(fd, &attempts);
    for (auto& a : attempts) report_denied(std::move(a));
  }
}

void Sandbox::report_early_exit(const std::string& status) {
  int code = 0;
  if (interactive_ || exit_reported_ || exited_ || kill_requested_ ||
      std::sscanf(status.c_str(), "%d", &code) != 1)
    return;
  // Everything the runner did before 'X' has reached us: its output is in the pipes (written
  // before it sent 'X') and its denied connections in the trace sockets (the trace is written
  // while the syscall runs). Take both, so the order of events is the same as at a real exit.
  for (int i = 0; i < 8; ++i) {
    if (stdout_fd_ >= 0) read_stream(&stdout_fd_, &out_, "stdout");
    if (stderr_fd_ >= 0) read_stream(&stderr_fd_, &err_, "stderr");
  }
  drain_trace();
  if (kill_requested_) return;  // a denial asked for a kill: the normal path reports it
  constexpr auto kExitGrace = std::chrono::seconds(1);
  const auto now = Clock::now();
  emit(with_artifacts(report_exit(exit_facts("", now, (code & 0xff) << 8))));
  exit_reported_ = true;
  exit_grace_until_ = now + kExitGrace;
}

void Sandbox::on_child_exit(int status) {
  exited_ = true;
  exit_status_ = status;
  close_fd(&pidfd_);
  close_fd(&stdin_fd_);
}

void Sandbox::loop() {
  std::optional<Clock::time_point> exited_at;
  for (;;) {
    const auto now = Clock::now();
    if (exited_) {
      if (!exited_at) exited_at = now;
      const bool drained = stdout_fd_ < 0 && stderr_fd_ < 0;
      if (drained || now - *exited_at > kDrainAfterExit) break;
    }
    if (!exited_ && turn_ && now >= turn_->deadline) {
      if (!turn_->interrupted && !kill_requested_) {
        // As a notebook's stop button: KeyboardInterrupt in the kernel's main thread. A turn
        // that stops keeps the kernel and its namespace ('D' frame below); one that does not
        // within the grace period loses them.
        turn_->interrupted = true;
        turn_->deadline = now + kTurnInterruptGrace;
        (void)run_command(runsc_argv({"kill", container_id_, "INT"}), 5s);
      } else {
        kernel_broken_ = true;
        finish_turn(true, 0, ms_between(turn_->started, now));
      }
    }
    if (ckpt_ && now >= ckpt_->deadline) fail_checkpoint("the kernel did not get ready in time");
    if (!exited_ && deadline_ && now >= *deadline_ && !kill_requested_) {
      request_kill(reattaching_ ? "the adopted sandbox's kernel did not reconnect"
                                : kBackstopReason);
    }
    if (!exited_ && kill_requested_ && !escalated_ && now >= kill_escalate_at_) {
      escalated_ = true;
      signal_child(SIGKILL);
    }
    if (!exited_ && exit_reported_ && !escalated_ && now >= exit_grace_until_) {
      escalated_ = true;  // it said it was done but goes on: end it
      signal_child(SIGKILL);
    }
    const bool metering = interactive_ && cpu_metering_ && !exited_ && !kill_requested_;
    if (metering && now >= next_cpu_sample_) {
      sample_cpu();
      next_cpu_sample_ = now + std::chrono::milliseconds(host_->config.cpu_sample_interval_ms);
    }

    std::vector<pollfd> pfds;
    pfds.push_back({wake_fd_, POLLIN, 0});
    // The channel comes before the output pipes: the runner's connection (Started) must be
    // reported before output the workload wrote right after it.
    if (!channel_.closed()) pfds.push_back({channel_.fd(), POLLIN, 0});
    if (pidfd_ >= 0) pfds.push_back({pidfd_, POLLIN, 0});
    if (stdout_fd_ >= 0) pfds.push_back({stdout_fd_, POLLIN, 0});
    if (stderr_fd_ >= 0) pfds.push_back({stderr_fd_, POLLIN, 0});
    if (stdin_fd_ >= 0 && !stdin_pending_.empty()) pfds.push_back({stdin_fd_, POLLOUT, 0});
    for (int fd : trace_.fds()) pfds.push_back({fd, POLLIN, 0});

    auto next = now + 1s;
    if (turn_) next = std::min(next, turn_->deadline);
    if (ckpt_) next = std::min(next, ckpt_->deadline);
    if (deadline_ && !kill_requested_) next = std::min(next, *deadline_);
    if (kill_requested_ && !escalated_) next = std::min(next, kill_escalate_at_);
    if (exit_reported_ && !escalated_) next = std::min(next, exit_grace_until_);
    if (exited_at) next = std::min(next, *exited_at + kDrainAfterExit);
    if (metering) next = std::min(next, next_cpu_sample_);
    const auto wait_ms = std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1);
    int n = ::poll(pfds.data(), pfds.size(), static_cast<int>(wait_ms));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;

    for (const auto& p : pfds) {
      if (p.revents == 0) continue;
      if (p.fd == wake_fd_) {
        handle_commands();
      } else if (p.fd == pidfd_) {
        reap_child();
      } else if (p.fd == stdout_fd_) {
        read_stream(&stdout_fd_, &out_, "stdout");
      } else if (p.fd == stderr_fd_) {
        read_stream(&stderr_fd_, &err_, "stderr");
      } else if (p.fd == stdin_fd_) {
        flush_stdin();
      } else if (p.fd == channel_.fd()) {
        const bool was_connected = channel_.connected();
        std::vector<ChannelFrame> frames;
        channel_.on_readable(&frames);
        if (!was_connected && channel_.connected()) {
          runner_connected_ = true;
          if (!interactive_ && !started_reported_) {
            started_reported_ = true;  // the runner is up; the workload starts now
            emit(Started{container_id_});
          }
        }
        for (const auto& f : frames) handle_frame(f);
      } else {
        std::vector<ConnectAttempt> attempts;
        trace_.on_readable(p.fd, &attempts);
        for (auto& a : attempts) report_denied(std::move(a));
      }
    }
  }
}

}  // namespace enclave::backends::gvisor
