// The sandbox runner (backends/runner/runner.py), embedded at build time: the program both real
// backends start inside the sandbox (`runner.py batch|kernel`). Its wire contract — the result
// channel's frames and the kernel's turn protocol — is read by backends/gvisor/result_channel.h
// and backends/kubernetes/pod_log.h.
#pragma once

namespace enclave::backends::runner {

extern const char kRunnerPy[];  // runner.py's bytes (backends/runner/CMakeLists.txt)

}  // namespace enclave::backends::runner
