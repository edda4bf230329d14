// enclaved: the Enclave server, and its composition root. `enclaved [serve] [flags]` serves the
// HTTP API; the other first words pick an offline subcommand, each in its own file here. Every
// setting is a flag and an environment variable; the flag wins (settings_table.cc,
// docs/CONFIG.md).
#include <sys/stat.h>

#include <string>
#include <vector>

#include "cli/enclaved/commands.h"

namespace {

using namespace enclave::enclaved;

struct Subcommand {
  const char* name;
  int (*run)(const std::vector<std::string>&);
};

const Subcommand kSubcommands[] = {
    {"serve", serve_main},
    {"keys", keys_main},
    {"orgs", orgs_main},
    {"signing-key", signing_key_main},
    {"config-doc", config_doc_main},
};

}  // namespace

int main(int argc, char** argv) {
  // Private at rest: nothing this process creates (log, keys, bundles, sockets' dirs) is readable
  // by another uid — sandboxes run as uid 65534 on this host.
  ::umask(077);
  std::vector<std::string> words(argv + 1, argv + argc);
  if (!words.empty()) {
    for (const auto& c : kSubcommands) {
      if (words[0] == c.name) return c.run({words.begin() + 1, words.end()});
    }
  }
  return serve_main(words);  // no subcommand: serve (its flags, or an unexpected argument)
}
