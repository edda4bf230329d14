#include "backends/gvisor/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>

#include "backends/gvisor/cgroup_v1.h"

namespace enclave::backends::gvisor {
namespace {
std::mutex g_children_mu;
std::set<pid_t> g_children;  // spawned by us and not yet reaped
}  // namespace

pid_t spawn(const std::vector<std::string>& argv_in, int stdin_fd, int stdout_fd, int stderr_fd,
            std::string* error, int nice, bool own_session) {
  std::vector<std::string> argv;
  if (nice > 0) argv = {"/usr/bin/nice", "-n", std::to_string(nice)};
  argv.insert(argv.end(), argv_in.begin(), argv_in.end());
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    *error = std::string("open /dev/null: ") + std::strerror(errno);
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const int fds[3] = {stdin_fd, stdout_fd, stderr_fd};
  for (int target = 0; target < 3; ++target) {
    // dup2 onto itself would keep O_CLOEXEC; our fds are never 0..2, so no such case.
    posix_spawn_file_actions_adddup2(&actions, fds[target] >= 0 ? fds[target] : devnull, target);
  }
  // Nothing else of ours reaches runsc: asio's listening and connection sockets are not
  // close-on-exec, and a sandbox that outlives a killed enclaved (adoption) would otherwise hold
  // the API's port and clients' connections.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (own_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char* envp[] = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
  pid_t pid = -1;
  std::lock_guard lock(g_children_mu);
  int rc = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(devnull);
  if (rc != 0) {
    *error = "spawn " + argv[0] + ": " + std::strerror(rc);
    return -1;
  }
  g_children.insert(pid);
  return pid;
}

pid_t wait_child(pid_t pid, int* status, int options) {
  pid_t r;
  while ((r = ::waitpid(pid, status, options)) < 0 && errno == EINTR) {
  }
  if (r == pid) {
    std::lock_guard lock(g_children_mu);
    g_children.erase(pid);
  }
  return r;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          int nice) {
  CommandResult result;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    result.output = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  std::string error;
  pid_t pid = spawn(argv, -1, p[1], p[1], &error, nice);
  ::close(p[1]);
  if (pid < 0) {
    ::close(p[0]);
    result.output = error;
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{p[0], POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t r = ::read(p[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (result.output.size() < 65536) result.output.append(buf, static_cast<size_t>(r));
  }
  ::close(p[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  wait_child(pid, &status, 0);
  result.exit_code = timed_out ? -1 : exit_code_of(status);
  if (timed_out) result.output += "\n(timed out)";
  return result;
}

int renice_tasks(pid_t pid, const std::string& tasks_file, int value) {
  constexpr int kMaxTasks = 4096;
  int set = 0, changed = 0;
  auto one = [&](long tid) {
    if (tid <= 0 || set >= kMaxTasks || nice_of(static_cast<pid_t>(tid)) == value) return;
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), value) == 0) ++set, ++changed;
  };
  // A thread made by a thread not yet reniced inherits the old value: pass again until a pass
  // finds nothing to change (threads made after their maker's renice inherit the new value).
  for (int pass = 0; pass < 4; ++pass) {
    changed = 0;
    std::error_code ec;
    if (pid > 0) {
      for (const auto& e :
           std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
        one(std::strtol(e.path().filename().c_str(), nullptr, 10));
    }
    std::string tasks;
    if (!tasks_file.empty() && read_file(tasks_file, &tasks, 1 << 16)) {
      std::istringstream lines(tasks);
      for (std::string line; std::getline(lines, line);)
        one(std::strtol(line.c_str(), nullptr, 10));
    }
    if (changed == 0) break;
  }
  return set;
}

int nice_of(pid_t tid) {
  errno = 0;
  const int v = ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  return errno != 0 ? -100 : v;
}

int reap_runsc_orphans() {
  const pid_t self = ::getpid();
  int reaped = 0;
  std::lock_guard lock(g_children_mu);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] < '0' || name[0] > '9') continue;
    std::string stat;
    if (!read_file("/proc/" + name + "/stat", &stat, 1024)) continue;
    // pid (comm) state ppid ...
    auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 4 >= stat.size())
      continue;
    const std::string comm = stat.substr(open + 1, close - open - 1);
    const char state = stat[close + 2];
    const pid_t ppid = static_cast<pid_t>(std::strtol(stat.c_str() + close + 4, nullptr, 10));
    if (ppid != self || state != 'Z') continue;
    if (comm != "runsc" && comm != "exe" && comm != "runsc-gofer" && comm != "runsc-sandbox")
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (g_children.count(pid) != 0) continue;
    int status;
    if (::waitpid(pid, &status, WNOHANG) > 0) ++reaped;
  }
  return reaped;
}

}  // namespace enclave::backends::gvisor
