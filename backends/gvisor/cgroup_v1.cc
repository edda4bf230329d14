#include "backends/gvisor/cgroup_v1.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

namespace enclave::backends::gvisor {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

uint64_t read_u64(const std::string& path) {
  std::string s;
  if (!read_file(path, &s, 4096)) return 0;
  return std::strtoull(s.c_str(), nullptr, 10);
}

// Value of `key` in a "key value\n" file such as memory.oom_control or pids.events.
uint64_t read_keyed(const std::string& path, const std::string& key) {
  std::string s;
  if (!read_file(path, &s, 1 << 16)) return 0;
  std::istringstream in(s);
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

std::string make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return "mkdir " + path + ": " + std::strerror(errno);
  }
  return "";
}

// cpuset children start empty; a task cannot join until cpus and mems are set.
std::string copy_cpuset(const std::string& from, const std::string& to) {
  for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
    std::string v;
    if (!read_file(from + "/" + f, &v, 4096)) return "read " + from + "/" + f;
    v = trim(v);
    std::string cur;
    if (read_file(to + "/" + f, &cur, 4096) && trim(cur) == v) continue;
    if (!write_file(to + "/" + f, v)) return "write " + to + "/" + f + ": " + std::strerror(errno);
  }
  return "";
}

}  // namespace

bool write_file(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC | O_CREAT, 0644);
  if (fd < 0) return false;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      errno = e;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return ::close(fd) == 0;
}

bool read_file(const std::string& path, std::string* out, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[4096];
  while (out->size() < max_bytes) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

const std::vector<std::string>& Cgroup::controllers() {
  static const std::vector<std::string> kControllers = {"memory", "pids", "cpu", "cpuacct",
                                                        "cpuset"};
  return kControllers;
}

std::string Cgroup::dir(const std::string& controller) const {
  return std::string(kRoot) + "/" + controller + "/" + parent_ + "/" + id_;
}

std::string Cgroup::create() {
  for (const auto& c : controllers()) {
    std::string parent = std::string(kRoot) + "/" + c + "/" + parent_;
    if (auto err = make_dir(parent); !err.empty()) return err;
    if (c == "cpuset") {
      if (auto err = copy_cpuset(std::string(kRoot) + "/cpuset", parent); !err.empty()) return err;
    }
    if (auto err = make_dir(dir(c)); !err.empty()) return err;
    if (c == "cpuset") {
      if (auto err = copy_cpuset(parent, dir(c)); !err.empty()) return err;
    }
  }
  return "";
}

std::string Cgroup::apply(const CgroupLimits& limits) {
  const std::string mem = dir("memory");
  const std::string bytes = std::to_string(limits.memory_bytes);
  // memsw must stay >= limit: order the writes so that the invariant holds when raising and
  // when lowering.
  const bool raising = limits.memory_bytes > read_u64(mem + "/memory.limit_in_bytes");
  auto write_mem = [&]() -> std::string {
    if (!write_file(mem + "/memory.limit_in_bytes", bytes))
      return "write memory.limit_in_bytes=" + bytes + ": " + std::strerror(errno);
    return "";
  };
  auto write_memsw = [&]() -> std::string {
    // memsw exists only with swap accounting; its absence is not an error.
    if (::access((mem + "/memory.memsw.limit_in_bytes").c_str(), W_OK) != 0) return "";
    if (!write_file(mem + "/memory.memsw.limit_in_bytes", bytes))
      return "write memory.memsw.limit_in_bytes=" + bytes + ": " + std::strerror(errno);
    return "";
  };
  if (raising) {
    if (auto e = write_memsw(); !e.empty()) return e;
    if (auto e = write_mem(); !e.empty()) return e;
  } else {
    if (auto e = write_mem(); !e.empty()) return e;
    if (auto e = write_memsw(); !e.empty()) return e;
  }
  const std::string cpu = dir("cpu");
  if (!write_file(cpu + "/cpu.cfs_period_us", "100000")) return "write cpu.cfs_period_us";
  const int quota = limits.cpu_millis > 0 ? limits.cpu_millis * 100 : -1;
  if (!write_file(cpu + "/cpu.cfs_quota_us", std::to_string(quota)))
    return "write cpu.cfs_quota_us=" + std::to_string(quota) + ": " + std::strerror(errno);
  if (!write_file(cpu + "/cpu.shares", std::to_string(limits.cpu_shares)))
    return "write cpu.shares=" + std::to_string(limits.cpu_shares) + ": " + std::strerror(errno);
  if (!write_file(dir("pids") + "/pids.max", std::to_string(limits.host_pids_max)))
    return "write pids.max: " + std::string(std::strerror(errno));
  return "";
}

CgroupUsage Cgroup::usage() const {
  CgroupUsage u;
  u.cpu_ns = read_u64(dir("cpuacct") + "/cpuacct.usage");
  u.peak_memory_bytes = read_u64(dir("memory") + "/memory.max_usage_in_bytes");
  u.oom_kills = read_keyed(dir("memory") + "/memory.oom_control", "oom_kill");
  u.memory_failcnt = read_u64(dir("memory") + "/memory.failcnt");
  u.pids_max_events = read_keyed(dir("pids") + "/pids.events", "max");
  return u;
}

uint64_t Cgroup::cpu_ns() const { return read_u64(dir("cpuacct") + "/cpuacct.usage"); }

std::string Cgroup::remove() {
  std::string left;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (const auto& c : controllers()) {
    const std::string d = dir(c);
    while (::rmdir(d.c_str()) != 0 && errno != ENOENT) {
      if (std::chrono::steady_clock::now() > deadline) {
        left += (left.empty() ? "" : "; ") + d + ": " + std::strerror(errno);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return left;
}

std::vector<std::string> Cgroup::list_children(const std::string& parent) {
  std::vector<std::string> ids;
  for (const auto& c : controllers()) {
    std::error_code ec;
    std::filesystem::directory_iterator it(std::string(kRoot) + "/" + c + "/" + parent, ec);
    if (ec) continue;
    for (const auto& e : it) {
      if (!e.is_directory()) continue;
      std::string name = e.path().filename().string();
      bool seen = false;
      for (const auto& i : ids) seen = seen || i == name;
      if (!seen) ids.push_back(name);
    }
  }
  return ids;
}

}  // namespace enclave::backends::gvisor
