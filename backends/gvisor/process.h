// Spawning and waiting for host processes (runsc) without inheriting anything but the given fds.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace enclave::backends::gvisor {

// Children spawned here are tracked until wait_child() reaps them, so that
// reap_runsc_orphans() never steals their exit status.
// Starts argv[0] with stdin/stdout/stderr = the given fds (-1: /dev/null) and an empty
// environment. Returns the pid or -1 with `error` set.
// `nice` > 0 starts it at that nice value (through /usr/bin/nice, so that every thread and child
// it ever makes inherits it from its first instruction): background work (pool kernel boots,
// teardowns) then never takes CPU from a live run. `own_session`: the child starts a new
// session (setsid) — no process group or terminal of ours reaches it, so a sandbox that must
// outlive a killed enclaved (adoption) is not hit by signals sent to enclaved's group.
pid_t spawn(const std::vector<std::string>& argv, int stdin_fd, int stdout_fd, int stderr_fd,
            std::string* error, int nice = 0, bool own_session = false);

struct CommandResult {
  int exit_code = -1;  // -1 if it could not run or timed out
  std::string output;  // stdout+stderr, first 64 KiB
};
// waitpid(pid) (options as waitpid); forgets the child once reaped. Returns waitpid's value.
pid_t wait_child(pid_t pid, int* status, int options);

// Runs a short command to completion (killing it after `timeout`).
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          int nice = 0);

// The nice value background runsc processes start at (the lowest priority).
constexpr int kBackgroundNice = 19;

// Sets nice `value` on every thread of process `pid` (/proc/<pid>/task) and on every task id in
// `tasks_file` (a cgroup's `tasks`; "" for none): a claimed pool kernel's processes return to
// the priority a cold-started one has. At most 4096 tasks. Returns how many were set.
// (Raising a priority needs CAP_SYS_NICE, which the gVisor backend has: it runs as root.)
int renice_tasks(pid_t pid, const std::string& tasks_file, int value);

// The nice value of thread `tid` (0: the calling thread), or -100 when it cannot be read.
int nice_of(pid_t tid);

// Exit status as a shell would report it (128+signal when killed by a signal).
int exit_code_of(int wait_status);

// Reaps zombie children of this process whose name says they are runsc's (runsc, exe,
// runsc-gofer, runsc-sandbox) — orphans re-parented to us as subreaper. Returns how many.
int reap_runsc_orphans();

}  // namespace enclave::backends::gvisor
