// enclaved's subcommands, one file each under cli/enclaved/; main.cc picks one by its first word.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "cli/flags.h"

namespace enclave::enclaved {

// Each takes the words after its own name and returns the exit code.
int serve_main(const std::vector<std::string>& words);
int keys_main(const std::vector<std::string>& words);
int orgs_main(const std::vector<std::string>& words);
int signing_key_main(const std::vector<std::string>& words);
int config_doc_main(const std::vector<std::string>& words);

// `enclaved --help`: the subcommands, then every setting from the table.
std::string usage_text();
// Prints "enclaved: <why>", a blank line and the usage to stderr; exits 2.
[[noreturn]] void usage_error(const std::string& why);

// The words as options for `table`-less subcommands; a usage error (exit 2) on a bad one, the
// usage on --help (exit 0).
cli::Options parse_or_exit(const std::vector<std::string>& words,
                           const std::set<std::string>& valued,
                           const std::set<std::string>& boolean);
// The data dir of an offline subcommand: --data-dir, else ENCLAVE_DATA_DIR, else the default.
std::string data_dir_of(const cli::Options& options);

}  // namespace enclave::enclaved
