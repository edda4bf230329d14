// The OCI bundle of one sandbox and runsc's pod-init config (trace session). Pure text
// generation plus the shared minimal rootfs.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace enclave::backends::gvisor {

// Where our files appear inside every sandbox.
inline constexpr const char* kRuntimeMount = "/opt/enclave";     // runner sources, read-only
inline constexpr const char* kSessionMount = "/opt/enclave-io";  // code, sockets; read-only

struct BundleSpec {
  std::string rootfs;       // shared rootfs dir (see prepare_rootfs)
  std::string runtime_dir;  // host dir bind-mounted at kRuntimeMount
  std::string session_dir;  // host dir bind-mounted at kSessionMount
  std::string home_dir;     // host dir bind-mounted read-write at /home/user (the cwd); "" none
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // exactly these, nothing from the host
  int tmp_mb = 64;                                       // tmpfs /tmp size
  int nproc = 64;                                        // RLIMIT_NPROC (soft = hard)
  std::string cgroups_path;                              // "/enclave/<id>", pre-created
  // The default image: the host's /usr bind-mounted read-only over the minimal rootfs. false: the
  // rootfs is a whole image (images/store.h) and nothing of the host is mounted but our dirs.
  bool bind_host_usr = true;
};

// config.json text: read-only root, host /usr read-only, private /tmp tmpfs, /home/user (cwd)
// read-write from `home_dir`, uid/gid 65534,
// noNewPrivileges, RLIMIT_NPROC, no capabilities, all namespaces.
std::string oci_config_json(const BundleSpec& spec);

// --pod-init-config text: trace connect() entries to a remote sink at `endpoint`.
std::string pod_init_config_json(const std::string& trace_endpoint);

// Creates `dir` as a rootfs: symlinks bin, lib, lib64, sbin -> usr/..., empty mount points.
// "" or what failed.
std::string prepare_rootfs(const std::string& dir);

}  // namespace enclave::backends::gvisor
