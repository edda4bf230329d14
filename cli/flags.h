// The one flag parser of both binaries (`enclave` and `enclaved`): `--name value`,
// `--name=value`, `--flag`, positional words, and a "did you mean" for a mistyped name.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace enclave::cli {

// Parsed options: `--name value`, `--name=value` for valued options (repeatable), `--flag` for
// booleans; everything else (including "-") is positional. `--` ends options. A command with a
// `--json` flag also accepts `--output json` (sets it) and `--output table` / `text` (the default).
struct Options {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> values;
  std::set<std::string> flags;
  std::string error;  // non-empty: a usage error to report

  bool flag(const std::string& name) const { return flags.count(name) > 0; }
  bool has(const std::string& name) const { return values.count(name) > 0; }
  // The last value given for `name`, or `dflt`.
  std::string get(const std::string& name, const std::string& dflt = "") const;
  const std::vector<std::string>& all(const std::string& name) const;
};

Options parse_options(const std::vector<std::string>& words, const std::set<std::string>& valued,
                      const std::set<std::string>& boolean);

// Edit distance between two words, an adjacent swap counting one (for "did you mean").
size_t edit_distance(const std::string& a, const std::string& b);
// The word of `known` nearest to `word` if it is near enough to be a typo of it, else "".
std::string closest(const std::string& word, const std::vector<std::string>& known);

// The non-empty items of a comma-separated value ("a,,b," → a, b).
std::vector<std::string> split_list(const std::string& text);

// Whether the words ask for help (`--help` or `-h` before any `--`).
bool wants_help(const std::vector<std::string>& words);

}  // namespace enclave::cli
