// What the simulator does with a piece of code (pure). The simulator does not run Python; it
// follows directives written as comments, so the same code also runs for real on gVisor:
//   #@sim sleep_ms=N        the workload (or turn) takes N ms          (default: the tick)
//   #@sim exit=N            exit code N                                (default 0)
//   #@sim stdout="text"     a line on stdout (C escapes \n \t \" \\)   (repeatable)
//   #@sim stderr="text"     a line on stderr                           (repeatable)
//   #@sim result=JSON       the enclave.result() value
//   #@sim egress=HOST:PORT  a connection attempt (denied unless allow-listed; repeatable)
//   #@sim hang              never finishes on its own (a turn stops when interrupted at its
//                           timeout: KeyboardInterrupt)
//   #@sim ignore_interrupt  with hang: a turn that goes on when interrupted (session killed)
//   #@sim oom               exceeds its memory limit (exit 137, memory_exceeded)
//   #@sim start_fail        the sandbox cannot start
//   #@sim teardown_left=N   the first N removals leave something behind (Removed.left); the
//                           N+1-th, asked for by kill(), succeeds
//   #@sim cpu_ms=N          (a turn) after it, the sandbox's CPU since ready reads N ms, as if
//                           it burnt CPU after its reply (a forged "done", a thread): CpuUsage
// Without directives, a few literal Python statements are understood: `print(LITERAL)`,
// `enclave.result(LITERAL)` and `sys.exit(N)` / `exit(N)` at the start of a line, and a line
// starting with `raise` (exit 1 with a traceback on stderr).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace enclave::backends::sim {

struct Script {
  std::optional<int64_t> sleep_ms;
  int exit_code = 0;
  std::string stdout_text, stderr_text;
  std::string result_json;  // empty: no result
  std::vector<std::pair<std::string, uint32_t>> egress;
  bool hang = false;
  bool ignore_interrupt = false;
  bool oom = false;
  bool start_fail = false;
  int teardown_left = 0;
  std::optional<uint64_t> cpu_ms;
};

Script parse(const std::string& code);

// A Python literal (numbers, strings, True/False/None, lists, dicts) as JSON text; nullopt if
// it is not one.
std::optional<std::string> python_literal_to_json(const std::string& literal);

}  // namespace enclave::backends::sim
