// The gVisor backend: every session is one runsc sandbox (ptrace platform, no network) over a
// shared read-only rootfs, limited by cgroup v1 and rlimits, supervised by one thread per session.
// See backends/gvisor/README.md for the isolation steps and what is measured.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "backends/backend.h"
#include "events/policy/egress_policy.h"

namespace enclave::backends {

struct GvisorConfig {
  // Path of the runsc binary. Default: /usr/bin/runsc.
  std::string runsc_path = "/usr/bin/runsc";
  // runsc --root: where runsc keeps container state. Owned by this backend alone (cleanup_orphans
  // deletes every container in it that is not kept). Default: /run/enclave/runsc.
  std::string state_dir = "/run/enclave/runsc";
  // Bundles, sockets, runner sources and the shared rootfs live here. Default: /run/enclave/work.
  std::string work_dir = "/run/enclave/work";
  // cgroup v1 parent under each controller (memory, pids, cpu, cpuacct, cpuset). Default: enclave.
  std::string cgroup_parent = "enclave";
  // The data dir's image store (images/store.h): a session whose spec names a built image
  // ("sha256:…" image_digest) runs on <images_dir>/by-digest/<hex>/rootfs, read-only, instead
  // of the host's /usr. "" : only the default image.
  std::string images_dir;
  // Pre-started kernels per built image (digest "sha256:…" → count), besides warm_pool_size on
  // the default image: sessions on that image (Python) take one. Default: none.
  std::map<std::string, int> image_pools;
  // Pre-started interactive kernels, never reused. 0 disables the pool. Default: 8 — enough
  // kernels booted ahead of a burst of one-shots (e.g. 16/s for a few seconds) that a 2-core
  // host cannot boot at that rate (~125 ms CPU each); each idle one costs ~18 MiB of host memory
  // and ~39 host tasks (bench/RESULTS.md, figures 4 and 8).
  int warm_pool_size = 8;
  // Bytes kept per output stream (stdout, stderr; per turn for interactive). Output beyond is
  // counted and dropped. Default: 1 MiB.
  uint64_t output_cap_bytes = 1 << 20;
  // How often a live interactive sandbox's CPU time is read from its cgroup (cpuacct) and sent
  // as CpuUsage, so CPU burnt between turns (or after a forged "done" frame) is metered. A
  // reading that moved less than 20 ms is not sent. Default: 1000 ms.
  int cpu_sample_interval_ms = 1000;
  // Largest enclave.result() JSON text accepted. Default: 1 MiB.
  uint64_t result_cap_bytes = 1 << 20;
  // Extra seconds past limits.wall_clock_seconds before a batch sandbox is killed by the backend
  // itself (the engine normally kills first). Default: 5.
  int wall_clock_grace_seconds = 5;
  // Floor of the host pids.max per sandbox, a backstop only (the workload meets RLIMIT_NPROC):
  // the ptrace platform needs many host tasks (~900 for 64 inside); the value used is
  // max(host_pids_max, 16 * limits.pids + 256). Default: 4096.
  int host_pids_max = 4096;
  // Several backends on one host (two enclaved, a check next to a server) must never delete each
  // other's sandboxes. Each backend takes the first free slot N (an flock on
  // <work_dir>.slot-N.lock, held for its lifetime); slot 0 uses state_dir, work_dir and
  // cgroup_parent as given, slot N > 0 appends "-N" to each. cleanup_orphans() only looks at its
  // own slot. Default: true.
  bool isolate_instances = true;
  // A file naming the slot this server held last (the data dir's): that slot is tried first, so
  // that a server restarted after kill -9 finds the sandboxes it may adopt. "" : first free slot.
  // Default: "".
  std::string slot_file;
  // Make this process a child subreaper so that sandbox processes orphaned by a dying `runsc run`
  // are re-parented to us and reaped (only runsc's own processes are reaped). Default: true.
  bool become_subreaper = true;
  // What allow_list sessions may reach: the egress proxy resolves each listed name once, checks
  // every address against this policy and connects only to one that passed. Default: every
  // internal range refused (loopback, link-local, RFC 1918, …), nothing permitted, 256
  // connections per session.
  egress::Policy egress_policy;
  // Secrets injected at the egress proxy (HTTPS): the upstream's certificate is verified against
  // this PEM file (only it) when set, else against the system trust store. Default: "" (system).
  std::string egress_upstream_ca;
};

// Whether runsc can be used on this host with `config`; `ok` false comes with what to fix.
// Checks root, runsc, cgroup v1 controllers and /usr/bin/python3; with `smoke_run` it also runs
// one real sandbox (pool off, same state/work dirs and cgroup parent) and checks its result —
// ~0.3-1 s.
struct ProbeResult {
  bool ok = false;
  std::string message;  // what was checked (ok) or what failed and how to fix it
};
[[nodiscard]] ProbeResult probe_gvisor(const GvisorConfig& config, bool smoke_run = true);

// Creates the backend: prepares work/state dirs and the rootfs and starts the warm pool. Call
// probe_gvisor() first; a backend made on a host that fails the probe reports every launch as a
// sandbox that could not start. The engine should call cleanup_orphans(kept ids) once at start.
[[nodiscard]] std::unique_ptr<Backend> make_gvisor_backend(GvisorConfig config, Sink sink);

}  // namespace enclave::backends
