#include "cli/host_traces.h"

#include <cctype>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace enclave::cli {

namespace fs = std::filesystem;

namespace {

bool names_any(const std::string& text, const std::vector<std::string>& ids) {
  for (const auto& id : ids)
    if (!id.empty() && text.find(id) != std::string::npos) return true;
  return false;
}

// Entries of every directory matching `<parent>/<prefix>*` whose name carries one of `ids`.
void scan(const fs::path& parent, const std::string& prefix, const std::string& sub,
          const std::vector<std::string>& ids, const std::string& what,
          std::vector<std::string>* out) {
  std::error_code ec;
  for (const auto& root : fs::directory_iterator(parent, ec)) {
    if (root.path().filename().string().rfind(prefix, 0) != 0) continue;
    std::error_code ec2;
    for (const auto& e : fs::directory_iterator(root.path() / sub, ec2))
      if (names_any(e.path().filename().string(), ids))
        out->push_back(what + " " + e.path().string());
  }
}

}  // namespace

std::vector<std::string> host_traces(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.empty() || !std::isdigit(static_cast<unsigned char>(pid[0]))) continue;
    std::string cmd;
    try {  // the process may exit while it is read (libstdc++ throws on the failed read)
      std::ifstream in(e.path() / "cmdline");
      cmd.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } catch (const std::exception&) {
      continue;
    }
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    if (names_any(cmd, ids)) out.push_back("process " + pid + ": " + cmd.substr(0, 160));
  }
  for (const char* ctl : {"memory", "pids", "cpu", "cpuacct", "cpuset"})
    scan(fs::path("/sys/fs/cgroup") / ctl, "enclave", "", ids, "cgroup", &out);
  scan("/run/enclave", "runsc", "", ids, "runsc state", &out);
  scan("/run/enclave", "work", "sessions", ids, "work dir", &out);
  return out;
}

}  // namespace enclave::cli
