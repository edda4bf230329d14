// enclaved's settings as data: each one's flag, environment variable, default, kind, bounds and
// doc in one descriptor (nsjail-style). The same table parses the command line, resolves values
// (flag > environment > default), prints `enclaved --help` and writes docs/CONFIG.md, so the
// three cannot drift. Defaults are read from the struct that owns each field, never retyped.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/flags.h"

namespace enclave::enclaved {

enum class Kind {
  kText,     // any string (a structured one is checked where it is turned into a config)
  kInteger,  // decimal digits only, within [min, max]
  kChoice,   // one of `choices`
  kSwitch,   // a flag without a value; its environment variable takes 1, 0, true or false
};

struct Setting {
  std::string flag;  // name without "--"; "" = environment only
  std::string env;   // ENCLAVE_…; "" = flag only
  Kind kind = Kind::kText;
  std::string value;  // how --help names the value: N, DIR, HOST:PORT
  std::string dflt;   // text form; "" = none
  int64_t min = 0;    // kInteger bounds, inclusive
  int64_t max = 0;
  std::vector<std::string> choices;  // kChoice
  std::string doc;
  std::string section;  // heading in --help and docs/CONFIG.md

  // How values and errors refer to it: "max-concurrency", or the variable if it has no flag.
  const std::string& key() const { return flag.empty() ? env : flag; }
};

// Every setting of `enclaved serve`, in the order --help lists them.
const std::vector<Setting>& serve_settings();
// The one descriptor named `key` in serve_settings() (aborts on a name that is not there: a bug).
const Setting& serve_setting(const std::string& key);

// The flag names a table gives to parse_options: valued ones and switches.
std::set<std::string> valued_flags(const std::vector<Setting>& table);
std::set<std::string> switch_flags(const std::vector<Setting>& table);

// Resolved values by key. Reading a key the table does not have aborts (a bug, not input).
class Values {
 public:
  const std::string& text(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  bool on(const std::string& key) const;

  std::map<std::string, std::string> by_key;
};

using GetEnv = std::function<const char*(const char*)>;

struct Resolved {
  Values values;
  std::string error;  // non-empty: names the flag, e.g. "--max-concurrency: must be 1..1000000"
};

// Each setting's value: the flag's if given, else the environment variable's if set and
// non-empty, else the default; each checked against its kind and bounds.
Resolved resolve(const std::vector<Setting>& table, const cli::Options& options,
                 const GetEnv& getenv);
// One setting alone (for the offline subcommands' --data-dir).
Resolved resolve_one(const Setting& setting, const cli::Options& options, const GetEnv& getenv);

// The settings block of `enclaved --help`.
std::string settings_help(const std::vector<Setting>& table);
// docs/CONFIG.md.
std::string settings_markdown(const std::vector<Setting>& table);

}  // namespace enclave::enclaved
