// One sandbox's cgroup v1 directories (/<parent>/<id> in memory, pids, cpu, cpuacct, cpuset).
// runsc ignores linux.resources when the cgroup already exists and deletes cgroups it created
// itself (losing the OOM counter), so we create and own them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace enclave::backends::gvisor {

struct CgroupLimits {
  uint64_t memory_bytes = 256ull << 20;  // memory.limit_in_bytes and memsw
  int cpu_millis = 1000;                 // cpu.cfs_quota_us per 100 ms period
  int host_pids_max = 4096;              // backstop only; the real limit is RLIMIT_NPROC
  // cpu.shares: CPU weight against sibling sandboxes when the host is busy. An idle warm-pool
  // kernel runs at kIdleCpuShares, so booting or refilling the pool never takes CPU from running
  // sessions; a session (cold, or a pool kernel once assigned) gets the kernel default.
  static constexpr uint64_t kSessionCpuShares = 1024;
  static constexpr uint64_t kIdleCpuShares = 2;
  uint64_t cpu_shares = kSessionCpuShares;
};

struct CgroupUsage {
  uint64_t cpu_ns = 0;             // cpuacct.usage
  uint64_t peak_memory_bytes = 0;  // memory.max_usage_in_bytes
  uint64_t oom_kills = 0;          // memory.oom_control: oom_kill
  uint64_t memory_failcnt = 0;     // memory.failcnt
  uint64_t pids_max_events = 0;    // pids.events: max
};

class Cgroup {
 public:
  static constexpr const char* kRoot = "/sys/fs/cgroup";
  static const std::vector<std::string>& controllers();

  Cgroup(std::string parent, std::string id) : parent_(std::move(parent)), id_(std::move(id)) {}

  // Creates the parent (copying cpuset cpus/mems) and the session's directories; returns "" or
  // what failed.
  [[nodiscard]] std::string create();
  // Writes memory/cpu/pids limits; may be called again (warm pool assignment). "" or error.
  [[nodiscard]] std::string apply(const CgroupLimits& limits);
  CgroupUsage usage() const;
  // cpuacct.usage alone (one small sysfs read): the CPU meter's sample.
  uint64_t cpu_ns() const;
  // Removes the directories (retrying while tasks drain, up to ~2 s). "" or what stayed.
  std::string remove();
  // "/<parent>/<id>", the OCI cgroupsPath.
  std::string path() const { return "/" + parent_ + "/" + id_; }
  std::string dir(const std::string& controller) const;

  // Ids of leftover /<parent>/* directories in any controller.
  static std::vector<std::string> list_children(const std::string& parent);

 private:
  std::string parent_;
  std::string id_;
};

// File helpers shared by the backend (small, blocking, on sysfs/procfs/work dirs).
bool write_file(const std::string& path, const std::string& data);
bool read_file(const std::string& path, std::string* out, size_t max_bytes = 1 << 20);

}  // namespace enclave::backends::gvisor
