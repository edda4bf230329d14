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
// environment. Returns the pid or -1 with `error` set. `own_session`: the child starts a new
// session (setsid) — no process group or terminal of ours reaches it, so a sandbox that must
// outlive a killed enclaved (adoption) is not hit by signals sent to enclaved's group.
pid_t spawn(const std::vector<std::string>& argv, int stdin_fd, int stdout_fd, int stderr_fd,
            std::string* error, bool own_session = false);

struct CommandResult {
  int exit_code = -1;  // -1 if it could not run or timed out
  std::string output;  // stdout+stderr, first 64 KiB
};
// waitpid(pid) (options as waitpid); forgets the child once reaped. Returns waitpid's value.
pid_t wait_child(pid_t pid, int* status, int options);

// Runs a short command to completion (killing it after `timeout`).
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// Exit status as a shell would report it (128+signal when killed by a signal).
int exit_code_of(int wait_status);

// Reaps zombie children of this process whose name says they are runsc's (runsc, exe,
// runsc-gofer, runsc-sandbox) — orphans re-parented to us as subreaper. Returns how many.
int reap_runsc_orphans();

}  // namespace enclave::backends::gvisor
