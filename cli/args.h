// Command-line words after the verb; the option parser itself is cli/flags.h (shared with
// enclaved).
#pragma once

#include <string>
#include <vector>

#include "cli/flags.h"

namespace enclave::cli {

// What a command receives: the words after its verb (`enclave fleet watch X` → fleet gets
// {"watch", "X"}).
struct Args {
  std::vector<std::string> words;
};

// Reads a whole file, or stdin for "-". false (with `error`) when it cannot.
bool read_input(const std::string& path, std::string* out, std::string* error);

// A non-negative integer option; false when malformed.
bool parse_uint(const std::string& text, long long* out);

// Prints "enclave: <message>" to stderr and returns `code`.
int fail(const std::string& message, int code = 1);
// Prints "enclave: usage: <usage>" to stderr (after `why`, if any) and returns 2.
int usage(const std::string& usage_text, const std::string& why = "");

}  // namespace enclave::cli
