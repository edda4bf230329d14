#include "backends/gvisor/runsc_locks.h"

#include <filesystem>
#include <string_view>

namespace enclave::backends::gvisor {

namespace {

bool hex32(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

int remove_stale_runsc_locks(const std::string& state_dir,
                             const std::function<bool(const std::string& id)>& remove_id) {
  namespace fs = std::filesystem;
  constexpr std::string_view kSep = "_sandbox:", kLock = ".lock";
  std::error_code ec;
  int removed = 0;
  for (const auto& e : fs::directory_iterator(state_dir, ec)) {
    const std::string name = e.path().filename().string();
    // <32 hex>_sandbox:<32 hex>.lock
    if (name.size() != 32 + kSep.size() + 32 + kLock.size()) continue;
    const std::string_view n(name);
    const std::string id(n.substr(0, 32));
    if (!hex32(id) || n.substr(32, kSep.size()) != kSep || !hex32(n.substr(32 + kSep.size(), 32)) ||
        n.substr(n.size() - kLock.size()) != kLock)
      continue;
    std::error_code sec;
    if (!fs::is_regular_file(fs::symlink_status(e.path(), sec))) continue;
    fs::path state = e.path();
    state.replace_extension(".state");
    if (fs::exists(fs::symlink_status(state, sec))) continue;  // runsc still knows it
    if (!remove_id(id)) continue;
    if (fs::remove(e.path(), sec)) ++removed;
  }
  return removed;
}

}  // namespace enclave::backends::gvisor
