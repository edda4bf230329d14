// The code interpreter's answer to POST /execute: NDJSON, one JSON object a line, no blank lines
// (the SDK splits on "\n" and JSON.parses every piece). Each function returns one complete line,
// newline included. Text is carried as given, invalid UTF-8 replaced by U+FFFD. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace enclave::http::e2b::ndjson {

// {"type":"stdout"|"stderr","text":…,"timestamp":"<RFC 3339>"}
std::string output(std::string_view stream, std::string_view text, std::string_view timestamp);

// {"type":"result","text":…,"is_main_result":true} — the value of the cell's trailing expression.
std::string result(std::string_view text);
// A display result that is not the cell's value (a matplotlib chart: key "png", base64 data;
// display(obj): "text" / "html"), as the code interpreter reports it.
std::string display_result(std::string_view key, std::string_view data);

// {"type":"error","name":…,"value":…,"traceback":…}
std::string error(std::string_view name, std::string_view value, std::string_view traceback);

// {"type":"number_of_executions","execution_count":N}
std::string number_of_executions(uint32_t count);

// {"type":"end_of_execution"}
std::string end_of_execution();

// How many leading bytes of a cell's not-yet-sent output to send now: up to the last newline
// (Jupyter sends whole lines, so `print("x")` arrives as "x\n", not "x" then "\n"), or all of it
// once a partial line reaches `max_partial` bytes (progress output without newlines still
// streams). 0: hold it until more output or the end of the cell.
size_t sendable_prefix(std::string_view pending, size_t max_partial = 4096);

}  // namespace enclave::http::e2b::ndjson
