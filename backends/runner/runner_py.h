// The sandbox runner (backends/runner/runner.py), embedded at build time: the program both real
// backends start inside the sandbox (`runner.py batch|kernel`). Its wire contract — the result
// channel's frames and the kernel's turn protocol — is read by backends/gvisor/result_channel.h
// and backends/kubernetes/pod_log.h.
#pragma once

namespace enclave::backends::runner {

extern const char kRunnerPy[];  // runner.py's bytes (backends/runner/CMakeLists.txt)
// The gVisor backend's other languages (issue 21), same protocol: runner.js (Node.js) and
// runner_bash.py (drives /usr/bin/bash from Python).
extern const char kRunnerJs[];
extern const char kRunnerBash[];

}  // namespace enclave::backends::runner
