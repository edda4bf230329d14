// Interactive sandboxes that outlive the enclaved that started them (kill -9, a crash) and are
// re-attached by the next one:
//   - at spawn, their stdio are named FIFOs in the sandbox's own dir (0700, root), each held
//     read-write by the child, so the kernel never sees EOF on its turn stream nor EPIPE on its
//     output when we die, and `runsc run` is in a session of its own (setsid: no signal sent to
//     our process group reaches it; runsc sets no parent-death signal on itself, only on the
//     sandbox it runs, which dies only with `runsc run`);
//   - after a restart, prepare_adoption() finds them again from the container id alone (recorded
//     in the log: hostile, so it must be 32 hex and name a dir under our own sessions dir) and
//     checks what the host says before trusting it; the thread then asks the kernel (frame C) to
//     reconnect its result channel to a new listener, exactly as after a restore.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "backends/gvisor/cgroup_v1.h"
#include "backends/gvisor/process.h"
#include "backends/gvisor/sandbox.h"
#include "backends/gvisor/sandbox_util.h"
#include "backends/gvisor/workdir.h"

namespace enclave::backends::gvisor {

using namespace std::chrono_literals;

namespace {

constexpr auto kReattachAnswer = 15s;  // the adopted kernel reconnects and answers S
constexpr const char* kFifoNames[3] = {"stdin.fifo", "stdout.fifo", "stderr.fifo"};

// `path` must be exactly what we made: a FIFO (not a link, not a file someone put there).
int open_fifo(const std::string& path, int flags, std::string* error) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    *error = "open " + path + ": " + std::strerror(errno);
    return -1;
  }
  struct stat st {};
  // runsc hands the container's stdio to its user (65534): either owner is ours.
  if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || (st.st_uid != 0 && st.st_uid != 65534)) {
    ::close(fd);
    *error = path + " is not our FIFO";
    return -1;
  }
  return fd;
}

// The sandbox process runsc recorded for `id` when it is running, from `runsc state` (our own
// root-only state dir; still parsed with bounds). -1 with `error` set otherwise.
pid_t running_sandbox_pid(const std::string& state_json, std::string* error) {
  auto value_after = [&](const std::string& key) -> std::string {
    const auto k = state_json.find("\"" + key + "\"");
    if (k == std::string::npos) return "";
    auto i = state_json.find(':', k);
    if (i == std::string::npos) return "";
    ++i;
    while (i < state_json.size() && (state_json[i] == ' ' || state_json[i] == '"')) ++i;
    size_t j = i;
    while (j < state_json.size() && j - i < 16 &&
           std::isalnum(static_cast<unsigned char>(state_json[j])))
      ++j;
    return state_json.substr(i, j - i);
  };
  const std::string status = value_after("status");
  if (status != "running") {
    *error = "runsc says the container is " + (status.empty() ? "unknown" : status);
    return -1;
  }
  const std::string pid = value_after("pid");
  if (pid.empty() || pid.size() > 7 || !std::all_of(pid.begin(), pid.end(), ::isdigit)) {
    *error = "runsc state has no usable pid";
    return -1;
  }
  const long v = std::stol(pid);
  if (v <= 1 || v > 4194304) {
    *error = "runsc state pid out of range";
    return -1;
  }
  return static_cast<pid_t>(v);
}

}  // namespace

std::string Sandbox::make_stdio_fifos(int child[3]) {
  int* ours[3] = {&stdin_fd_, &stdout_fd_, &stderr_fd_};
  const int our_flags[3] = {O_WRONLY, O_RDONLY, O_RDONLY};
  for (int i = 0; i < 3; ++i) {
    const std::string path = dir_ + "/" + kFifoNames[i];
    ::unlink(path.c_str());  // a restore in place makes new ones: the old sandbox is gone
    if (::mkfifo(path.c_str(), 0600) != 0) return "mkfifo " + path + ": " + std::strerror(errno);
    // The child's end first (read-write: it never blocks, and it is a reader and a writer of
    // its own FIFO, so our absence is neither EOF nor EPIPE for it), then ours.
    child[i] = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    std::string error;
    if (child[i] < 0) return "open " + path + ": " + std::strerror(errno);
    *ours[i] = open_fifo(path, our_flags[i], &error);
    if (*ours[i] < 0) return error;
  }
  return "";
}

void Sandbox::signal_child(int sig) {
  if (child_ > 0) {
    ::kill(child_, sig);
  } else if (adopted_ && pidfd_ >= 0) {
    (void)::syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0);
  }
}

bool Sandbox::reap_child() {
  if (exited_) return true;
  if (child_ > 0) {
    int status = 0;
    if (wait_child(child_, &status, WNOHANG) != child_) return false;
    on_child_exit(status);
    return true;
  }
  if (!adopted_ || pidfd_ < 0) return false;
  pollfd p{pidfd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  // Not our child: its status is not ours to read. Reported as killed, as a lost sandbox is.
  on_child_exit(SIGKILL);
  return true;
}

std::string Sandbox::prepare_adoption() {
  if (!interactive_) return "only interactive sandboxes are adopted";
  const std::string lang = create_spec_.language();
  if (!lang.empty() && lang != "python") return "only Python kernels reconnect their channel";
  if (create_spec_.egress().mode() == "allow_list")
    return "its egress proxy died with the previous process";
  dir_ = host_->sessions_dir + "/" + container_id_;
  struct stat st {};
  if (::lstat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0)
    return "no sandbox dir " + dir_;
  if (::lstat((dir_ + "/io").c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return "no io dir in " + dir_;
  // What runsc knows: the container runs, and which host process is its sandbox.
  auto state = run_command(runsc_argv({"state", container_id_}), 10s);
  if (state.exit_code != 0) return "runsc state: " + tail(state.output, 200);
  std::string error;
  const pid_t pid = running_sandbox_pid(state.output.substr(0, 16384), &error);
  if (pid < 0) return error;
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd_ < 0) return "pidfd_open " + std::to_string(pid) + ": " + std::strerror(errno);
  // The pid must still be that sandbox (not reused): runsc puts the container id in its argv.
  std::string cmdline;
  if (!read_file("/proc/" + std::to_string(pid) + "/cmdline", &cmdline, 65536) ||
      cmdline.find(container_id_) == std::string::npos) {
    close_fd(&pidfd_);
    return "process " + std::to_string(pid) + " is not this sandbox";
  }
  // Its stdio, by name. Opening the stdin FIFO for writing fails (ENXIO) when no reader holds
  // it: the sandbox is gone.
  int* ours[3] = {&stdin_fd_, &stdout_fd_, &stderr_fd_};
  const int flags[3] = {O_WRONLY, O_RDONLY, O_RDONLY};
  for (int i = 0; i < 3; ++i) {
    *ours[i] = open_fifo(dir_ + "/" + kFifoNames[i], flags[i], &error);
    if (*ours[i] < 0) {
      for (int* fd : ours) close_fd(fd);
      close_fd(&pidfd_);
      return error;
    }
  }
  // A new result channel: the old connection died with the previous process.
  const uint64_t max_frame =
      std::max(host_->config.output_cap_bytes, host_->config.result_cap_bytes) + 64;
  if (auto e = channel_.listen(dir_ + "/io/channel.sock", max_frame); !e.empty()) {
    for (int* fd : ours) close_fd(fd);
    close_fd(&pidfd_);
    return e;
  }
  // The egress trace connection cannot be remade (runsc connects once, at boot): attempts of an
  // adopted sandbox are refused by gVisor (no network) but no longer audited.
  adopted_ = true;
  reattaching_ = true;
  started_reported_ = true;  // the session already has its sandbox_started
  runner_connected_ = true;
  spawned_at_ = assigned_at_ = Clock::now();
  deadline_ = spawned_at_ + kReattachAnswer;
  {
    std::lock_guard lock(mu_);
    commands_.clear();  // no setup: the kernel has its namespace
    workdir_ready_ = std::filesystem::is_directory(workdir_path(dir_));
  }
  return "";
}

}  // namespace enclave::backends::gvisor
