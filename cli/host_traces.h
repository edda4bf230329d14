// What is left on this host of some gVisor sandboxes, looked up by the container ids the backend
// reported (sandbox_started.containerId): the demo's "no sandbox left behind" reads the host, not
// the API's tornDown flag. Only meaningful when enclaved runs on this host (gVisor backend).
#pragma once

#include <string>
#include <vector>

namespace enclave::cli {

// One line per trace found ("process 123: runsc … <id>", "cgroup
// /sys/fs/cgroup/memory/enclave/<id>", "runsc state /run/enclave/runsc/<id>…", "work dir …"); empty
// when nothing carries any of `ids`.
std::vector<std::string> host_traces(const std::vector<std::string>& ids);

}  // namespace enclave::cli
