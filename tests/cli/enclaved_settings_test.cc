// cli/enclaved/settings.h and serve_config.h: enclaved's one settings table, its precedence
// (flag > environment > default), bounds, and the configs it fills.
#define BOOST_TEST_MODULE enclaved_settings
#include <boost/test/unit_test.hpp>
#include <map>
#include <string>

#include "cli/enclaved/serve_config.h"
#include "cli/enclaved/settings.h"
#include "events/requests/image_catalog.h"
#include "events/session.h"

using namespace enclave;
using namespace enclave::enclaved;

namespace {

struct FakeEnv {
  std::map<std::string, std::string> vars;
  GetEnv get() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

Resolved run(std::vector<std::string> words, const FakeEnv& env = {}) {
  const auto& table = serve_settings();
  auto o = cli::parse_options(words, valued_flags(table), switch_flags(table));
  BOOST_REQUIRE_MESSAGE(o.error.empty(), o.error);
  return resolve(table, o, env.get());
}

}  // namespace

BOOST_AUTO_TEST_CASE(flag_beats_env_beats_default) {
  FakeEnv env;
  BOOST_CHECK_EQUAL(run({}, env).values.text("max-concurrency"), "8");
  env.vars["ENCLAVE_MAX_CONCURRENCY"] = "5";
  BOOST_CHECK_EQUAL(run({}, env).values.integer("max-concurrency"), 5);
  BOOST_CHECK_EQUAL(run({"--max-concurrency", "3"}, env).values.integer("max-concurrency"), 3);
  env.vars["ENCLAVE_MAX_CONCURRENCY"] = "";  // empty counts as unset
  BOOST_CHECK_EQUAL(run({}, env).values.integer("max-concurrency"), 8);
}

BOOST_AUTO_TEST_CASE(errors_name_the_flag_and_its_bounds) {
  BOOST_CHECK_EQUAL(run({"--max-concurrency", "0"}).error,
                    "--max-concurrency: must be 1..1000000, got '0'");
  BOOST_CHECK_EQUAL(run({"--max-upload-mb=x"}).error,
                    "--max-upload-mb: must be 1..1048576, got 'x'");
  FakeEnv env;
  env.vars["ENCLAVE_MAX_CONCURRENCY"] = "-1";
  BOOST_CHECK_EQUAL(run({}, env).error,
                    "--max-concurrency (from ENCLAVE_MAX_CONCURRENCY): must be 1..1000000, got "
                    "'-1'");
  BOOST_CHECK_EQUAL(run({"--backend", "docker"}).error,
                    "--backend: must be one of gvisor, simulator, kubernetes, got 'docker'");
  env.vars = {{"ENCLAVE_INTERACTIVE_IDLE_TTL", "0"}};
  BOOST_CHECK_EQUAL(run({}, env).error,
                    "ENCLAVE_INTERACTIVE_IDLE_TTL: must be 1..2592000, got '0'");
  env.vars = {{"ENCLAVE_METRICS_PUBLIC", "yes"}};
  BOOST_CHECK_EQUAL(run({}, env).error,
                    "--metrics-public (from ENCLAVE_METRICS_PUBLIC): must be 1, 0, true or false, "
                    "got 'yes'");
}

BOOST_AUTO_TEST_CASE(switch_from_flag_or_env) {
  BOOST_CHECK(!run({}).values.on("metrics-public"));
  BOOST_CHECK(run({"--metrics-public"}).values.on("metrics-public"));
  FakeEnv env;
  env.vars["ENCLAVE_METRICS_PUBLIC"] = "true";
  BOOST_CHECK(run({}, env).values.on("metrics-public"));
}

BOOST_AUTO_TEST_CASE(defaults_come_from_the_structs_that_own_them) {
  const session::Policy policy;
  BOOST_CHECK_EQUAL(serve_setting("ENCLAVE_INTERACTIVE_IDLE_TTL").dflt,
                    std::to_string(policy.idle_ttl_ms / 1000));
  auto built = build_serve_config(run({}).values);
  BOOST_REQUIRE_MESSAGE(built.error.empty(), built.error);
  const ServeConfig& c = built.config;
  BOOST_CHECK_EQUAL(c.engine.policy.idle_ttl_ms, policy.idle_ttl_ms);
  BOOST_CHECK_EQUAL(c.engine.policy.max_lifetime_ms, policy.max_lifetime_ms);
  BOOST_CHECK_EQUAL(c.engine.policy.max_cumulative_ms, policy.max_cumulative_ms);
  BOOST_CHECK_EQUAL(c.engine.max_concurrency, EngineConfig{}.max_concurrency);
  BOOST_CHECK_EQUAL(c.engine.data_dir, "./data");
  BOOST_CHECK_EQUAL(c.gvisor.warm_pool_size, backends::GvisorConfig{}.warm_pool_size);
  BOOST_CHECK_EQUAL(c.address.host, "127.0.0.1");
  BOOST_CHECK_EQUAL(c.address.port, 8090);
  BOOST_CHECK_EQUAL(c.backend, "gvisor");
  BOOST_CHECK(!c.auth_disabled);
  BOOST_CHECK(c.e2b_on);
  BOOST_CHECK_EQUAL(c.e2b.policy.max_timeout_seconds, policy.max_lifetime_ms / 1000);
}

BOOST_AUTO_TEST_CASE(configs_filled_from_flags) {
  FakeEnv env;
  env.vars["ENCLAVE_INTERACTIVE_IDLE_TTL"] = "7";
  auto built = build_serve_config(
      run({"--listen", "[::1]:0", "--auth", "disabled", "--org-storage-mb-for", "a=1,b=0",
           "--egress-max-connections", "9", "--allow-origin", "https://x.example"},
          env)
          .values);
  BOOST_REQUIRE_MESSAGE(built.error.empty(), built.error);
  const ServeConfig& c = built.config;
  BOOST_CHECK_EQUAL(c.address.host, "::1");
  BOOST_CHECK(c.auth_disabled && c.api.auth_disabled && c.e2b.auth_disabled);
  BOOST_CHECK(c.browsers.loopback_host_only);
  BOOST_CHECK_EQUAL(c.engine.policy.idle_ttl_ms, 7000);
  BOOST_CHECK_EQUAL(c.engine.org_storage_mb_for.at("a"), 1u);
  BOOST_CHECK_EQUAL(c.engine.org_storage_mb_for.at("b"), 0u);
  BOOST_CHECK_EQUAL(c.engine.egress.max_connections, 9u);
  BOOST_CHECK_EQUAL(c.gvisor.egress_policy.max_connections, 9u);
  BOOST_CHECK_EQUAL(c.browsers.allowed_origins.size(), 1u);
}

BOOST_AUTO_TEST_CASE(structured_values_are_checked) {
  auto err = [](std::vector<std::string> words) {
    return build_serve_config(run(std::move(words)).values).error;
  };
  BOOST_CHECK_EQUAL(err({"--listen", "nope"}),
                    "--listen must be HOST:PORT (IPv6 as [ADDR]:PORT), got 'nope'");
  BOOST_CHECK_EQUAL(err({"--org-storage-mb-for", "=3"}),
                    "--org-storage-mb-for entries are ORG=MB, not '=3'");
  BOOST_CHECK(!err({"--allow-origin", "ftp://x"}).empty());
  BOOST_CHECK(!err({"--e2b-internet-allow", "10.0.0.1:80"}).empty());  // internal: refused
  BOOST_CHECK(
      err({"--e2b-internet-allow", "10.0.0.1:80", "--egress-permit", "10.0.0.0/8"}).empty());
  BOOST_CHECK_EQUAL(err({"--anchor-dir", "/a"}),
                    "--anchor-dir needs --signing-key (there are no tree heads to anchor without "
                    "one)");
  BOOST_CHECK_EQUAL(err({"--backend", "kubernetes", "--k8s-org-quota", "1,2"}),
                    "--k8s-org-quota must be PODS,CPU_MILLIS,MEMORY_MB, got '1,2'");
}

BOOST_AUTO_TEST_CASE(k8s_image_maps_image_names_to_container_references) {
  auto built = build_serve_config(
      run({"--k8s-image", "registry.example/py:3.11,pydata=registry.example/pydata@sha256:ab12"})
          .values);
  BOOST_REQUIRE_MESSAGE(built.error.empty(), built.error);
  const auto& k = built.config.kubernetes;
  BOOST_CHECK_EQUAL(k.image, "registry.example/py:3.11");
  BOOST_REQUIRE_EQUAL(k.images.size(), 1u);
  BOOST_CHECK_EQUAL(k.images.at("pydata"), "registry.example/pydata@sha256:ab12");
  // The catalog the engine checks sessions against: default and the mapped names, no other.
  auto catalog = images::kubernetes_catalog(k.image, k.images);
  BOOST_CHECK_EQUAL(catalog.by_name.size(), 2u);
  BOOST_CHECK_EQUAL(catalog.by_name.at("pydata").digest(),
                    "k8s:registry.example/pydata@sha256:ab12");
  BOOST_CHECK_EQUAL(catalog.by_name.at("default").digest(), "k8s:registry.example/py:3.11");
  api::CreateSessionRequest req;
  req.set_image("nope");
  req.set_language("python");
  events::SessionSpec spec;
  spec.set_language("python");  // as validate_session_request leaves it
  auto refused = images::resolve_session_image(req, catalog, &spec);
  BOOST_REQUIRE(refused.has_value());
  BOOST_CHECK_EQUAL(refused->field, "image");
  req.set_image("pydata");
  BOOST_CHECK(!images::resolve_session_image(req, catalog, &spec).has_value());
  BOOST_CHECK_EQUAL(spec.image_digest(), "k8s:registry.example/pydata@sha256:ab12");

  auto err = [](std::vector<std::string> words) {
    return build_serve_config(run(std::move(words)).values).error;
  };
  for (const std::string bad : {"Bad=ref", "x=", "x=a b", "=ref", "../x=ref", "x=ref;rm"})
    BOOST_CHECK_MESSAGE(!err({"--k8s-image", bad}).empty(), bad);
}

BOOST_AUTO_TEST_CASE(every_setting_documented_once) {
  std::set<std::string> keys, envs;
  for (const auto& s : serve_settings()) {
    BOOST_CHECK_MESSAGE(keys.insert(s.key()).second, "twice: " + s.key());
    BOOST_CHECK_MESSAGE(s.env.empty() || envs.insert(s.env).second, "twice: " + s.env);
    BOOST_CHECK_MESSAGE(!s.doc.empty(), "no doc: " + s.key());
    BOOST_CHECK_MESSAGE(s.doc.find('|') == std::string::npos, "'|' breaks the table: " + s.key());
  }
  std::string help = settings_help(serve_settings());
  std::string md = settings_markdown(serve_settings());
  for (const auto& s : serve_settings()) {
    if (!s.flag.empty()) BOOST_CHECK(help.find("--" + s.flag) != std::string::npos);
    if (!s.env.empty()) BOOST_CHECK(md.find("`" + s.env + "`") != std::string::npos);
  }
}
