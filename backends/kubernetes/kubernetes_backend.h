// The Kubernetes backend: every session is one pod in its org's namespace, run by the cluster's
// gVisor RuntimeClass, with the same runner.py and kernel as the gVisor backend inside. Talks
// HTTPS/JSON to the API server (no kubectl). See backends/kubernetes/README.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "backends/backend.h"
#include "backends/kubernetes/objects.h"
#include "events/policy/egress_policy.h"

namespace enclave::backends {

struct KubernetesConfig {
  // kubeconfig file: its current context's server, CA and user (token or client certificate).
  std::string kubeconfig_path;
  // Image of the sandbox container; only `python3` on PATH is used (runner and code come in a
  // ConfigMap). Default: python:3.11-slim.
  std::string image = "python:3.11-slim";
  // Enclave image name → container image reference (--k8s-image NAME=REF, issue 21): a session
  // asking for image NAME runs its pod on REF. A name not here is refused at create (the
  // engine's catalog lists only these and `default`). Default: none.
  std::map<std::string, std::string> images;
  // RuntimeClass every pod names. Default: gvisor.
  std::string runtime_class = "gvisor";
  // Per-org ResourceQuota (namespace enclave-<org>). Defaults: 64 pods, 16 CPUs, 32 GiB.
  k8s::OrgQuota org_quota;
  // activeDeadlineSeconds: batch = limits.wall_clock_seconds + this grace (the engine normally
  // kills first); interactive pods = interactive_deadline_seconds. Defaults: 5 s, 1860 s.
  int wall_clock_grace_seconds = 5;
  int interactive_deadline_seconds = 1860;
  // Bytes kept per output stream and largest result. Default: 1 MiB each.
  uint64_t output_cap_bytes = 1 << 20;
  uint64_t result_cap_bytes = 1 << 20;
  // Grace period of a kill()'s pod delete, and how long we wait for the pod to be gone before
  // forcing it (grace 0). Defaults: 1 s, 30 s.
  int delete_grace_seconds = 1;
  int delete_wait_seconds = 30;
  // How long a launch waits for room when the org's ResourceQuota refuses the pod ("exceeded
  // quota") before the session fails. Default: 60 s.
  int quota_wait_seconds = 60;
  // Added to a turn's timeout for the exec round trip (API server, kubelet, a python3 started
  // in the pod); a turn whose code ran longer than its timeout (the kernel's own measure) is
  // still reported timed out. Default: 2000 ms.
  int64_t exec_grace_ms = 2000;
  // Threads making API calls for launches, finishes and kills. Default: 4.
  int workers = 4;
  // Which addresses an allow-list may be given: names are resolved at launch and only permitted
  // addresses get a NetworkPolicy rule (pinned); refused ones are reported as EgressDenied
  // {reason "internal_address"}. Default: every internal range refused, nothing permitted.
  egress::Policy egress_policy;
};

struct KubernetesProbe {
  bool ok = false;
  std::string message;  // what was checked (ok) or what failed and how to fix it
};

// Loads the kubeconfig, reaches the API server (/version) and checks that the RuntimeClass
// exists. Seconds at most.
[[nodiscard]] KubernetesProbe probe_kubernetes(const KubernetesConfig& config);

// Creates the backend. A backend whose kubeconfig cannot be loaded reports every launch as a
// sandbox that could not start (call probe_kubernetes() first).
[[nodiscard]] std::unique_ptr<Backend> make_kubernetes_backend(KubernetesConfig config, Sink sink);

}  // namespace enclave::backends
