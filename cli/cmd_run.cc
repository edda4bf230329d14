// enclave run FILE|- : one session from a file (batch: wait for it, print its output, exit with
// its exit code; --interactive: create the session and print its id for `enclave exec`).
// Ctrl-C or SIGTERM while waiting tears the session down (it would otherwise run on until its
// wall clock ends, unseen).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/session_result.h"
#include "cli/session_view.h"

namespace enclave::cli {

namespace {
constexpr const char* kUsage =
    "enclave run FILE|- [--interactive] [--allow HOST:PORT]... [--memory-mb N] [--timeout S] "
    "[--language L] [--json]";

void write_all(FILE* f, const std::string& s) {
  if (!s.empty()) std::fwrite(s.data(), 1, s.size(), f);
  std::fflush(f);
}

// The signal that asked us to stop (SIGINT, SIGTERM), or 0.
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_stop{false};

void on_stop_signal(int sig) {
  g_stop_signal = sig;
  g_stop = true;
}

void catch_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // an HTTP call in flight completes; the loop then sees the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Tears the session down after Ctrl-C / SIGTERM; the exit code a shell expects (128 + signal).
int stop_session(const ApiClient& api, const std::string& id) {
  std::cerr << "\r\x1b[K" << std::flush;
  auto torn = call(api, "DELETE", "/v1/sessions/" + id);
  std::cerr << "enclave: interrupted: session " << id
            << (torn ? " torn down" : " could not be torn down (see above)") << "\n";
  return 128 + g_stop_signal.load();
}

// How long to wait for a terminal session's result to become final (its output is written
// by the backend right after the end is recorded; this only bounds a server that never does).
constexpr int kFinalResultWaitMs = 60'000;
}  // namespace

int cmd_run(const Args& args) {
  Options o = parse_options(args.words, {"allow", "memory-mb", "timeout", "language"},
                            {"interactive", "json"});
  if (!o.error.empty()) return usage(kUsage, o.error);
  if (o.positional.size() != 1) return usage(kUsage, "expected one FILE (or - for stdin)");
  std::string code, err;
  if (!read_input(o.positional[0], &code, &err)) return fail(err);

  std::string body = "{\"code\":" + json_quote(code) +
                     ",\"language\":" + json_quote(o.get("language", "python")) +
                     ",\"execMode\":\"" + (o.flag("interactive") ? "interactive" : "batch") + "\"";
  if (o.has("allow")) {
    std::string list;
    for (const auto& a : o.all("allow")) list += (list.empty() ? "" : ",") + json_quote(a);
    body += ",\"egress\":{\"mode\":\"allow_list\",\"allow\":[" + list + "]}";
  }
  std::string limits;
  long long n = 0;
  if (o.has("memory-mb")) {
    if (!parse_uint(o.get("memory-mb"), &n)) return usage(kUsage, "--memory-mb must be a number");
    limits += "\"memoryMb\":" + std::to_string(n);
  }
  if (o.has("timeout")) {
    if (!parse_uint(o.get("timeout"), &n)) return usage(kUsage, "--timeout must be seconds");
    limits += std::string(limits.empty() ? "" : ",") + "\"wallClockSeconds\":" + std::to_string(n);
  }
  if (!limits.empty()) body += ",\"limits\":{" + limits + "}";
  body += "}";

  std::string cerr;
  auto api = client_from_env(&cerr);
  if (!api) return fail(cerr);
  catch_stop_signals();  // from here on, Ctrl-C must not leave a session nobody knows of
  // A batch run is synchronous: the server answers when the session has ended (or after
  // `wait` seconds, and the CLI asks again), so no polling interval adds to the first result.
  const std::string wait =
      o.flag("interactive") ? "" : "?wait=" + std::to_string(kWaitChunkSeconds);
  auto created = call(*api, "POST", "/v1/sessions" + wait, body);
  if (!created) return 1;
  std::string id = get_string(created->json, "id");
  // The id comes first, on stderr: the README's next steps (audit, result) need it, and it
  // must not mix with the workload's stdout.
  if (!o.flag("interactive")) std::cerr << "enclave: session " << id << "\n";
  std::optional<ApiAnswer> session = created;
  auto delay = std::chrono::milliseconds(20);
  // Progress for a person watching (stderr is a terminal): the phase and the time waited, on one
  // line that is erased before any output. Scripts (no terminal) see nothing extra.
  const bool progress = isatty(STDERR_FILENO) == 1;
  const auto t0 = std::chrono::steady_clock::now();
  auto show_progress = [&](bool done) {
    if (!progress) return;
    if (done) {
      std::cerr << "\r\x1b[K" << std::flush;
      return;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char waited[32];
    std::snprintf(waited, sizeof waited, "%.1f s", s);
    std::cerr << "\r\x1b[Ksession " << id << ": " << get_string(session->json, "phase") << " ("
              << waited << ")" << std::flush;
  };
  auto poll = [&] {
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(250));
    session = call(*api, "GET", "/v1/sessions/" + id);
    if (session) show_progress(false);
    return session.has_value();
  };
  if (o.flag("interactive")) {
    // Ready for `enclave exec` once running (setup code done); an end before that is an error.
    std::string phase = get_string(session->json, "phase");
    while (phase == "queued" || phase == "starting") {
      if (g_stop) return stop_session(*api, id);
      if (!poll()) return 1;
      phase = get_string(session->json, "phase");
    }
    show_progress(true);
    if (o.flag("json"))
      write_all(stdout, session->body + "\n");
    else
      std::cout << id << std::endl;
    if (phase == "running") return 0;
    std::cerr << "enclave: session " << id << " ended before its first turn: " << phase;
    if (has_value(session->json, "killReason"))
      std::cerr << " (" << get_string(session->json, "killReason") << ")";
    std::cerr << "\n";
    return 1;
  }

  // Wait (server side) until the session has ended with its whole output.
  std::optional<ApiAnswer> result = result_of_wait(*session);
  // Terminal is not final: a killed session's output arrives when the sandbox has exited; that
  // is bounded by kFinalResultWaitMs from the end on (only a server that never records it).
  std::optional<std::chrono::steady_clock::time_point> ended_at;
  while (!get_bool(result->json, "final")) {
    if (g_stop) return stop_session(*api, id);
    if (session_phase_terminal(get_string(session->json, "phase"))) {
      auto now = std::chrono::steady_clock::now();
      if (!ended_at) ended_at = now;
      if (now - *ended_at >= std::chrono::milliseconds(kFinalResultWaitMs)) break;
    }
    session = call(*api, "GET",
                   "/v1/sessions/" + id + "/result?wait=" + std::to_string(kWaitChunkSeconds));
    if (!session) return 1;
    result = result_of_wait(*session);
    show_progress(false);
  }
  show_progress(true);

  std::string phase = get_string(session->json, "phase");
  int exit_code = 0;
  if (phase == "killed") {
    exit_code = 137;
  } else if (has_value(result->json, "exitCode")) {
    exit_code = static_cast<int>(get_number(result->json, "exitCode"));
  } else if (has_value(session->json, "exitCode")) {
    exit_code = static_cast<int>(get_number(session->json, "exitCode"));
  } else {
    exit_code = phase == "succeeded" ? 0 : 1;
  }
  if (o.flag("json")) {
    write_all(stdout, "{\"session\":" + session->body + ",\"result\":" + result->body + "}\n");
  } else {
    print_result(result->json);
  }
  if (!get_bool(result->json, "final"))
    std::cerr << "enclave: session " << id << ": its output may be incomplete (not final after "
              << kFinalResultWaitMs / 1000 << " s; `enclave result " << id << "` shows it later)\n";
  if (phase == "killed") {
    std::cerr << "enclave: session " << id << " killed: " << kill_reason_text(session->json)
              << "\n";
  } else if (phase == "failed" && !has_value(result->json, "exitCode")) {
    std::cerr << "enclave: session " << id << " failed to start\n";
  }
  return exit_code < 0 || exit_code > 255 ? 1 : exit_code;
}

}  // namespace enclave::cli
