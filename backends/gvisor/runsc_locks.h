// runsc's lock files: `runsc` keeps `<id>_sandbox:<id>.state` and a `.lock` beside it while it
// knows a container. A runsc killed while creating one (a pool kernel still booting when the
// server stops) leaves the empty `.lock` without its `.state`; runsc itself never removes it
// (`runsc list` and `delete` read state files only), so it outlives every teardown.
#pragma once

#include <functional>
#include <string>

namespace enclave::backends::gvisor {

// Removes, from runsc's state dir, every lock file `<id>_sandbox:<id>.lock` (both ids 32 lowercase
// hex characters, a regular file, not a symlink) whose `.state` file is absent and whose id
// `remove_id` accepts. Anything else in the dir is left alone. Returns how many were removed.
int remove_stale_runsc_locks(const std::string& state_dir,
                             const std::function<bool(const std::string& id)>& remove_id);

}  // namespace enclave::backends::gvisor
