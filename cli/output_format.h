// The CLI's output convention: `--output table` (people, the default) or `--output json` (the
// API's JSON, one document a line, for scripts); `--json` is the short form of the latter.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/args.h"

namespace enclave::cli {

enum class OutputFormat { kTable, kJson };

// From --output / --json; nullopt when --output names neither format.
std::optional<OutputFormat> output_format(const Options& o);

// Columns padded to their widest cell; cells are sanitised (no control characters: a session
// name is tenant input and must not move the cursor of the terminal that lists it).
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void add(std::vector<std::string> row);
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// Percent-encodes a query parameter value.
std::string url_encode(const std::string& s);

}  // namespace enclave::cli
