// enclaved's usage text (generated from the settings table) and the shared usage helpers.
#include <cstdlib>
#include <iostream>

#include "cli/enclaved/commands.h"
#include "cli/enclaved/settings.h"

namespace enclave::enclaved {

std::string usage_text() {
  return R"(usage: enclaved [serve] [flags]              serve the HTTP API
       enclaved keys create --org ORG --role owner|member|viewer|metrics [--e2b] [--data-dir DIR]
       enclaved keys list [--data-dir DIR]
       enclaved keys revoke KEYID [--data-dir DIR]
       enclaved orgs set ORG [--weight N] [--max-queued N] [--max-live N] [--data-dir DIR]
       enclaved orgs list [--data-dir DIR]
       enclaved images build NAME --debian-packages P1,P2,… [--data-dir DIR] [--suite S]
                     [--mirror URL] [--cache-dir DIR]   an image from Debian packages (mmdebstrap)
       enclaved images import NAME FILE [--data-dir DIR] [--max-archive-mb N] [--max-file-mb N]
                     [--max-unpacked-mb N]   an image from an OCI image archive (skopeo, umoci)
       enclaved images list [--data-dir DIR] [--json] | enclaved images remove NAME [--data-dir DIR]
       enclaved signing-key create FILE          a new Ed25519 key for tree heads (mode 0600)
       enclaved config-doc                       docs/CONFIG.md, from the settings below

flags of serve (each also an environment variable; the flag wins; docs/CONFIG.md):
)" + settings_help(serve_settings());
}

void usage_error(const std::string& why) {
  std::cerr << "enclaved: " << why << "\n\n" << usage_text();
  std::exit(2);
}

cli::Options parse_or_exit(const std::vector<std::string>& words,
                           const std::set<std::string>& valued,
                           const std::set<std::string>& boolean) {
  if (cli::wants_help(words)) {
    std::cout << usage_text();
    std::exit(0);
  }
  cli::Options o = cli::parse_options(words, valued, boolean);
  if (!o.error.empty()) usage_error(o.error);
  return o;
}

std::string data_dir_of(const cli::Options& options) {
  Resolved r = resolve_one(serve_setting("data-dir"), options, std::getenv);
  if (!r.error.empty()) usage_error(r.error);
  return r.values.text("data-dir");
}

int config_doc_main(const std::vector<std::string>& words) {
  cli::Options o = parse_or_exit(words, {}, {});
  if (!o.positional.empty()) usage_error("config-doc: unexpected argument " + o.positional[0]);
  std::cout << settings_markdown(serve_settings());
  return 0;
}

}  // namespace enclave::enclaved
