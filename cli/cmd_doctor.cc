// enclave doctor: what an operator's first `enclaved` start needs from this machine, checked
// locally, one line each (ok / WARN / FAIL): runsc, root, cgroups, free disk and permissions of
// the data dir, the listen port, the clock. Exit 1 when any check FAILs. It reads only; it starts
// no sandbox (enclaved's own start-up probe does that and says how to fix what it finds).
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace enclave::cli {

namespace {
constexpr const char* kUsage = "enclave doctor [--data-dir DIR] [--listen HOST:PORT]";
constexpr unsigned long long kMinFreeDiskMb = 512;  // enclaved's --min-free-disk-mb default

struct Report {
  int failures = 0;
  void line(const char* level, const std::string& what, const std::string& detail) {
    if (std::string(level) == "FAIL") ++failures;
    std::printf("%-5s %-10s %s\n", level, what.c_str(), detail.c_str());
  }
};

// First line of a command's stdout, or "" when it cannot run.
std::string first_line(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return "";
  char buf[512] = {0};
  std::string out = std::fgets(buf, sizeof buf, p) ? buf : "";
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

void check_runsc(Report& r) {
  std::string v = first_line("runsc --version 2>/dev/null");
  if (v.empty())
    r.line("FAIL", "runsc",
           "not found on PATH: apt-get install runsc (or use --backend simulator)");
  else
    r.line("ok", "runsc", v);
  if (::geteuid() == 0)
    r.line("ok", "root", "running as root (runsc and cgroups need it here)");
  else
    r.line("WARN", "root", "not root: the gvisor backend needs root on this kind of machine");
}

void check_cgroups(Report& r) {
  std::string missing;
  for (const char* c : {"memory", "pids", "cpu", "cpuacct", "cpuset"}) {
    if (!std::filesystem::is_directory(std::string("/sys/fs/cgroup/") + c))
      missing += " " + std::string(c);
  }
  if (missing.empty())
    r.line("ok", "cgroups", "v1 controllers memory, pids, cpu, cpuacct, cpuset mounted");
  else if (std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers"))
    r.line("FAIL", "cgroups", "cgroup v2 only: the gvisor backend limits sandboxes with cgroup v1");
  else
    r.line("FAIL", "cgroups", "cgroup v1 controllers missing:" + missing);
}

void check_data_dir(Report& r, const std::string& dir) {
  std::error_code ec;
  std::string probe = dir;
  const bool exists = std::filesystem::exists(dir, ec);
  if (!exists) probe = std::filesystem::absolute(dir, ec).parent_path().string();
  struct statvfs vfs {};
  if (::statvfs(probe.c_str(), &vfs) != 0) {
    r.line("FAIL", "data dir",
           probe + ": cannot be read (" + std::string(std::strerror(errno)) + ")");
    return;
  }
  const unsigned long long free_mb =
      static_cast<unsigned long long>(vfs.f_bavail) * vfs.f_frsize / (1024 * 1024);
  r.line(free_mb < kMinFreeDiskMb ? "FAIL" : "ok", "disk",
         std::to_string(free_mb) + " MiB free at " + probe +
             " (enclaved refuses new sessions below " + std::to_string(kMinFreeDiskMb) +
             " MiB by default)");
  if (::access(probe.c_str(), W_OK) != 0) {
    r.line("FAIL", "data dir", probe + " is not writable by this user");
    return;
  }
  struct stat st {};
  if (exists && ::stat(dir.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    r.line("WARN", "data dir",
           dir + " is mode " + mode +
               ": the audit log and key hashes are readable by others (chmod 700)");
  } else {
    r.line("ok", "data dir", exists ? dir + " exists and is writable" : dir + " will be created");
  }
}

void check_port(Report& r, const std::string& listen) {
  std::string err;
  auto url = parse_url("http://" + listen, &err);
  if (!url) {
    r.line("FAIL", "listen", listen + ": not HOST:PORT");
    return;
  }
  HttpResponse h = http_request(*url, "GET", "/v1/healthz", "", {}, 2000);
  if (h.status == 200)
    r.line("ok", "listen", listen + ": an enclaved already answers there (healthz 200)");
  else if (h.status != 0)
    r.line("FAIL", "listen",
           listen + ": in use by something that is not enclaved (HTTP " + std::to_string(h.status) +
               ")");
  else
    r.line("ok", "listen", listen + ": nothing listens there yet");
}

void check_clock(Report& r) {
  struct timex tx {};
  const int state = ::adjtimex(&tx);
  if (state == TIME_ERROR)
    r.line("WARN", "clock",
           "not synchronised (NTP): audit timestamps and signed tree heads may drift");
  else
    r.line("ok", "clock", "synchronised by the kernel's NTP discipline");
}
}  // namespace

int cmd_doctor(const Args& args) {
  Options o = parse_options(args.words, {"data-dir", "listen"}, {});
  if (!o.error.empty()) return usage(kUsage, o.error);
  if (!o.positional.empty()) return usage(kUsage, "unexpected argument " + o.positional[0]);
  const char* env_dir = std::getenv("ENCLAVE_DATA_DIR");
  const char* env_listen = std::getenv("ENCLAVE_LISTEN");
  const std::string dir = o.get("data-dir", env_dir && *env_dir ? env_dir : "./data");
  const std::string listen =
      o.get("listen", env_listen && *env_listen ? env_listen : "127.0.0.1:8090");
  Report r;
  check_runsc(r);
  check_cgroups(r);
  check_data_dir(r, dir);
  check_port(r, listen);
  check_clock(r);
  std::printf("%s\n", r.failures ? "doctor: some checks FAILED (see above)" : "doctor: ready");
  return r.failures ? 1 : 0;
}

}  // namespace enclave::cli
