// Strict JSON syntax (RFC 8259) for input files the CLI sends on: protobuf's parser, which
// parse_json() uses, lets a trailing comma through, and a member file with one is a typo the
// user should hear about at their line and column, not a request the server half-guesses.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace enclave::cli {

// nullopt when `text` is exactly one JSON value (whitespace around it allowed); else
// "column N: <what is wrong>" (1-based byte column). Nesting deeper than 256 is refused.
std::optional<std::string> json_syntax_error(std::string_view text);

}  // namespace enclave::cli
