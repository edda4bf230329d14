// What the image builders share: running a tool (mmdebstrap, skopeo, umoci) and the manifest's
// creation time.
#pragma once

#include <string>
#include <vector>

namespace enclave::images {

// Runs argv[0] (an absolute path) with argv and the given extra environment ("K=V"); its stdout
// and stderr are ours. The exit status, or -1 when it did not exit normally.
int run_tool(const std::vector<std::string>& argv, const std::vector<std::string>& env_add);

// Now, as RFC 3339 UTC to the second.
std::string now_rfc3339();

}  // namespace enclave::images
