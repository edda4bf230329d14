// What `enclaved serve` runs with: every config struct of the engine, the HTTP layer and the
// backends, filled from the resolved settings (cli/enclaved/settings.h) in one place.
#pragma once

#include <map>
#include <string>

#include "actors/engine_types.h"
#include "backends/gvisor/gvisor_backend.h"
#include "backends/kubernetes/kubernetes_backend.h"
#include "cli/enclaved/settings.h"
#include "http/api.h"
#include "http/auth.h"
#include "http/browser_guard.h"
#include "http/e2b/adapter.h"
#include "storage/sth_service.h"

namespace enclave::enclaved {

struct ServeConfig {
  std::string listen;  // as given, for messages
  http::ListenAddress address;
  std::string backend;  // gvisor | simulator | kubernetes
  std::string auth;     // keys | disabled
  bool auth_disabled = false;
  std::string log_format;
  std::string log_level;
  EngineConfig engine;            // on_close is the caller's
  backends::GvisorConfig gvisor;  // images_dir and image_pools are serve.cc's (the data dir's)
  std::map<std::string, int> image_pools;  // --warm-pool IMAGE=N: image name → kernels
  backends::KubernetesConfig kubernetes;
  http::ApiOptions api;  // sth is the caller's
  http::BrowserPolicy browsers;
  bool e2b_on = true;
  http::e2b::AdapterOptions e2b;
  std::string signing_key_path;  // "" : no signed tree heads
  storage::SthOptions sth;
  // --store postgres:CONNINFO: the conninfo ("": the RocksDB log in engine.data_dir is durable).
  std::string pg_conninfo;
  bool ha = false;              // --ha (needs pg_conninfo; never the gvisor backend)
  int64_t lease_ttl_ms = 6000;  // --lease-ttl-s
  std::string advertise;        // --ha: base URL clients are redirected to while this leads
};

struct BuiltConfig {
  ServeConfig config;
  std::string error;  // non-empty: a usage error naming the flag (exit 2)
};

// The configs from `values` (resolved from serve_settings()). Checks what the table cannot:
// lists, addresses, origins and the egress policy over the operator's own allow-list.
BuiltConfig build_serve_config(const Values& values);

}  // namespace enclave::enclaved
