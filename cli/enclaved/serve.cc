// `enclaved serve`: the composition root. Resolves the settings (settings_table.cc), fills the
// configs (serve_config.cc), then wires the backend, the engine and the HTTP API and serves until
// SIGTERM or SIGINT.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/engine.h"
#include "backends/simulator/simulator.h"
#include "cli/enclaved/commands.h"
#include "cli/enclaved/logging.h"
#include "cli/enclaved/replication.h"
#include "cli/enclaved/serve_config.h"
#include "cli/enclaved/settings.h"
#include "http/api.h"
#include "http/browser_guard.h"
#include "http/e2b/adapter.h"
#include "http/preflight.h"
#include "http/query.h"
#include "http/routes.h"
#include "http/server.h"
#include "storage/images/store.h"
#include "storage/sth_service.h"
#ifdef ENCLAVE_HAVE_GVISOR
#include "backends/gvisor/gvisor_backend.h"
#endif
#ifdef ENCLAVE_HAVE_KUBERNETES
#include "backends/kubernetes/kubernetes_backend.h"
#endif

namespace enclave::enclaved {

int serve_main(const std::vector<std::string>& words) {
  const auto& table = serve_settings();
  cli::Options a = parse_or_exit(words, valued_flags(table), switch_flags(table));
  if (!a.positional.empty()) usage_error("unexpected argument '" + a.positional[0] + "'");
  Resolved resolved = resolve(table, a, std::getenv);
  if (!resolved.error.empty()) usage_error(resolved.error);
  BuiltConfig built = build_serve_config(resolved.values);
  if (!built.error.empty()) usage_error(built.error);
  ServeConfig& c = built.config;
  setup_logging(c.log_format, c.log_level);

  const std::string& listen = c.listen;
  const std::string& data_dir = c.engine.data_dir;
  const std::string& backend = c.backend;
  const std::string& auth = c.auth;
  const http::ListenAddress* addr = &c.address;
  bool auth_disabled = c.auth_disabled;
  if (auth_disabled && !http::is_loopback(addr->host)) {
    std::cerr << "enclaved: --auth disabled is allowed only on a loopback listen address "
                 "(127.0.0.0/8 or [::1]); "
              << listen
              << " is not. Use --auth keys and create keys with 'enclaved keys create'.\n";
    return 2;
  }
  // Before the slow part of the start: a busy port or a data dir in use fails at once, in words.
  // (With the postgres store the log is not in the data dir: replicas may share it.)
  for (const auto& why :
       {http::listen_preflight(addr->host, addr->port),
        c.pg_conninfo.empty() ? http::data_dir_preflight(data_dir) : std::string()}) {
    if (!why.empty()) {
      std::cerr << "enclaved: " << why << "\n";
      return 1;
    }
  }

  Engine::BackendFactory factory;
  if (backend == "simulator") {
    factory = [](backends::Sink sink) { return backends::make_simulator({}, std::move(sink)); };
  } else if (backend == "gvisor") {
#ifdef ENCLAVE_HAVE_GVISOR
    backends::GvisorConfig& gcfg = c.gvisor;
    // Images (issue 21): the data dir's store; a pool per built image named by --warm-pool.
    gcfg.images_dir = images::images_dir(data_dir);
    // Adoption after kill -9 (docs/PAUSE.md): the next start takes the same instance slot.
    gcfg.slot_file = data_dir + "/gvisor.slot";
    const auto catalog = images::Store(data_dir).catalog();
    for (const auto& [name, n] : c.image_pools) {
      auto it = catalog.by_name.find(name);
      if (it == catalog.by_name.end())
        usage_error("--warm-pool: no image named \"" + name + "\" (enclaved images list)");
      gcfg.image_pools[it->second.digest()] = n;
    }
    auto probe = backends::probe_gvisor(gcfg);
    if (!probe.ok) {
      std::cerr << "enclaved: the gvisor backend cannot run on this host: " << probe.message
                << "\n(for a machine without gVisor, --backend simulator runs fake sandboxes)\n";
      return 1;
    }
    factory = [gcfg](backends::Sink sink) {
      return backends::make_gvisor_backend(gcfg, std::move(sink));
    };
#else
    std::cerr << "enclaved: this build has no gvisor backend (backends/gvisor was not built); "
                 "rebuild with it, or use --backend simulator\n";
    return 1;
#endif
  } else if (backend == "kubernetes") {
#ifdef ENCLAVE_HAVE_KUBERNETES
    const backends::KubernetesConfig& kcfg = c.kubernetes;
    auto probe = backends::probe_kubernetes(kcfg);
    if (!probe.ok) {
      std::cerr << "enclaved: the kubernetes backend cannot reach a usable cluster: "
                << probe.message << "\n";
      return 1;
    }
    spdlog::info("kubernetes backend: {}", probe.message);
    factory = [kcfg](backends::Sink sink) {
      return backends::make_kubernetes_backend(kcfg, std::move(sink));
    };
#else
    std::cerr << "enclaved: this build has no kubernetes backend (backends/kubernetes was not "
                 "built); use --backend gvisor or --backend simulator\n";
    return 1;
#endif
  } else {
    usage_error("--backend must be gvisor, simulator or kubernetes, got '" + backend + "'");
  }

  // Signals are taken by sigwait below: block them before any thread starts, ignore SIGPIPE.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Signed tree heads: the key is loaded before anything opens, so a bad key stops the start.
  std::optional<storage::SigningKey> signing_key;
  if (const auto& path = c.signing_key_path; !path.empty()) {
    auto k = storage::SigningKey::load_file(path);
    if (!k) {
      std::cerr << "enclaved: " << k.error().message << "\n";
      return 1;
    }
    signing_key = std::move(*k);
  }
  const storage::SthOptions& sth_opts = c.sth;
  // The final tree head is signed while the engine closes, after its last append.
  auto sth = std::make_shared<std::unique_ptr<storage::SthService>>();

  EngineConfig cfg = c.engine;
  cfg.on_close = [sth] {
    if (*sth) (*sth)->stop();
  };
  // Images run on gVisor (the store's trees); the simulator runs every language on `default`;
  // Kubernetes runs `default` and each --k8s-image NAME=REF, Python only (the runner needs only
  // python3; what else a container image holds is not known here).
  if (backend == "gvisor") {
    auto image_store = std::make_shared<images::Store>(data_dir);
    cfg.image_catalog = [image_store] { return image_store->catalog(); };
  } else if (backend == "kubernetes") {
    auto catalog = images::kubernetes_catalog(c.kubernetes.image, c.kubernetes.images);
    cfg.image_catalog = [catalog] { return catalog; };
  }
  // --store postgres:…: the store of record, and this process's private copy of the log.
  std::unique_ptr<PgNode> pg;
  if (!c.pg_conninfo.empty()) {
    auto node = open_pg_node(c.pg_conninfo);
    if (!node) {
      spdlog::error("cannot open the postgres store: {}", node.error().message);
      return 1;
    }
    pg = std::move(*node);
    cfg.log_dir = pg->log_dir;
    cfg.log_store = pg->store;
  }

  if (auth_disabled) {
    spdlog::warn(
        "authentication is DISABLED (--auth disabled): every request acts as org "
        "'default', role owner. Loopback only; never expose this server.");
  }
  // What serves the API once the engine is open: at once, or (--ha) when this replica leads.
  struct Live {
    std::unique_ptr<Engine> eng;
    std::unique_ptr<http::Api> api;
    std::unique_ptr<http::e2b::Adapter> e2b;
  };
  std::unique_ptr<Live> live_parts;
  std::atomic<Live*> live{nullptr};
  std::unique_ptr<HaNode> ha;
  std::atomic<HaNode*> replica{nullptr};  // set once `ha` has started (request threads read it)
  // A replica's status; before it has started (catching up at start): a standby, no leader yet.
  auto replica_status = [&replica](bool is_live) {
    HaNode* r = replica.load();
    return r ? r->status(is_live) : http::ReplicaStatus{};
  };
  const http::BrowserPolicy& browsers = c.browsers;
  http::ApiOptions api_opts = c.api;
  bool e2b_on = c.e2b_on;
  if (c.ha)
    api_opts.replica_fields = [&replica_status, &live] {
      return http::replica_fields(replica_status(live.load() != nullptr));
    };
  auto go_live = [&]() -> Result<bool> {
    auto engine = Engine::open(cfg, factory);
    if (!engine.ok()) return engine.error();
    auto parts = std::make_unique<Live>();
    parts->eng = std::move(engine.value());
    if (signing_key) {
      *sth = std::make_unique<storage::SthService>(parts->eng->event_log(), std::move(signing_key),
                                                   sth_opts);
      (*sth)->start();
      spdlog::info("signing tree heads every {} s (key id {}){}", sth_opts.interval_s,
                   (*sth)->public_key()->key_id(),
                   sth_opts.anchor_dir.empty() ? "" : ", anchored in " + sth_opts.anchor_dir);
    }
    http::ApiOptions opts = api_opts;
    opts.sth = sth->get();
    parts->api = std::make_unique<http::Api>(parts->eng.get(), opts);
    parts->e2b = std::make_unique<http::e2b::Adapter>(parts->eng.get(), c.e2b);
    live_parts = std::move(parts);
    live = live_parts.get();
    return true;
  };
  if (!c.ha) {
    if (auto opened = go_live(); !opened) {
      spdlog::error("cannot open the engine (data dir {}): {}", data_dir, opened.error().message);
      return 1;
    }
  }
  http::ServerOptions sopts;
  sopts.host = addr->host;
  sopts.port = addr->port;
  // Uploads (native PUT, envd's POST /files) are bounded by --max-upload-mb instead.
  sopts.stream_body = [e2b_on](std::string_view method, std::string_view target) {
    return http::streams_body(method, target) ||
           (e2b_on && http::e2b::streams_body(method, target));
  };
  // Every request, native or E2B, passes the browser Origin rule first (http/browser_guard.h).
  auto server = http::Server::start(
      sopts, http::guard_browsers(
                 browsers, [&live, &replica_status, e2b_on](http::Request req, http::Reply reply) {
                   Live* l = live.load();
                   if (!l) return reply(http::standby_answer(req, replica_status(false)));
                   if (e2b_on && http::e2b::Adapter::owns(http::split_target(req.target).path)) {
                     return l->e2b->handle(std::move(req), std::move(reply));
                   }
                   l->api->handle(std::move(req), std::move(reply));
                 }));
  auto close_live = [&] {
    if (!live_parts) return;
    live_parts->api->detach();  // late unsubscribes become no-ops
    live_parts->e2b->detach();
    live_parts->eng.reset();  // actors, backend threads, log
  };
  if (!server.ok()) {
    spdlog::error("{}", server.error().message);
    close_live();
    return 1;
  }
  std::unique_ptr<http::Server> srv = std::move(server.value());
  if (c.ha) {
    auto started = HaNode::start(c, *pg, go_live);
    if (!started) {
      spdlog::error("cannot start as a replica: {}", started.error().message);
      srv->stop();
      return 1;
    }
    ha = std::move(*started);
    replica = ha.get();
  }
  spdlog::info(
      "enclaved listening on {}:{} (backend {}, {}, max concurrency {}, auth {}, "
      "E2B compatibility {}, /metrics {}, extra browser origins {})",
      addr->host, srv->port(), backend,
      c.pg_conninfo.empty() ? "data dir " + data_dir
                            : std::string("postgres store") + (c.ha ? ", --ha" : ""),
      cfg.max_concurrency, auth, e2b_on ? "on" : "off",
      api_opts.metrics_public ? "public" : "keyed", browsers.allowed_origins.size());

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  srv->stop();  // no new requests; io threads joined
  // Running interactive sessions are checkpointed, so the next start resumes them.
  if (Live* l = live.load())
    if (size_t n = l->eng->pause_all_for_restart(std::chrono::seconds(20)); n > 0)
      spdlog::info("paused {} interactive sessions for the restart", n);
  close_live();
  if (ha) ha->stop();  // after the last append: a leader gives its lease back
  srv.reset();         // open connections dropped
  spdlog::info("stopped");
  return 0;
}

}  // namespace enclave::enclaved
