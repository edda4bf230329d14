// enclave: the command-line client of the Enclave API (SPEC.md). The verb picks a row of the
// table below; each verb lives in its own cli/cmd_*.cc.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

using enclave::cli::Args;

struct Command {
  const char* verb;
  int (*run)(const Args&);
  const char* usage;
};

const Command kCommands[] = {
    {"run", enclave::cli::cmd_run,
     "run FILE|- [--interactive] [--allow HOST:PORT]... [--memory-mb N] [--timeout S] "
     "[--language python|javascript|bash] [--image NAME] [--json]"},
    {"list", enclave::cli::cmd_list,
     "list [--phase P] [--fleet FLEET] [--limit N] [--output table|json]"},
    {"result", enclave::cli::cmd_result,
     "result SESSION [--wait] [--json]   (a session's output and enclave.result() value)"},
    {"doctor", enclave::cli::cmd_doctor,
     "doctor [--data-dir DIR] [--listen HOST:PORT]   (is this machine ready for enclaved?)"},
    {"completion", enclave::cli::cmd_completion,
     "completion bash   (source <(enclave completion bash))"},
    {"exec", enclave::cli::cmd_exec,
     "exec SESSION CODE|- [--timeout-ms N] [--save-results DIR] [--json]   (DIR gets the "
     "turn's rich results: PNG charts, HTML, text)"},
    {"get", enclave::cli::cmd_get, "get SESSION [--json]"},
    {"kill", enclave::cli::cmd_kill, "kill SESSION [--json]"},
    {"pause", enclave::cli::cmd_pause, "pause SESSION [--json]   (checkpoint; frees its slot)"},
    {"resume", enclave::cli::cmd_resume, "resume SESSION [--json]"},
    {"fork", enclave::cli::cmd_fork, "fork SESSION [--count N] [--json]   (prints the new ids)"},
    {"audit", enclave::cli::cmd_audit, "audit SESSION [--json]"},
    {"events", enclave::cli::cmd_events, "events SESSION [--json]   (live until the session ends)"},
    {"fleet", enclave::cli::cmd_fleet,
     "fleet submit FILE.jsonl [--name NAME] [--json] | fleet watch FLEET | fleet get FLEET "
     "[--json] | fleet cancel FLEET [--json]"},
    {"demo", enclave::cli::cmd_demo,
     "demo fleets-at-scale [--shards N] [--no-hostile] [--multi-org] [--evidence DIR] | "
     "demo interactive-session [--idle-ttl S] [--evidence DIR]"},
    {"replay", enclave::cli::cmd_replay,
     "replay --data-dir DIR [--stream ID] [--until-seq N | --until-time T] [--json] "
     "[--export jsonl]"},
    {"verify", enclave::cli::cmd_verify,
     "verify --data-dir DIR [--sth FILE | --anchor-dir DIR] [--public-key FILE] [--json]"},
    {"export", enclave::cli::cmd_export,
     "export --data-dir DIR --session ID (--anchor-dir DIR | --sth FILE) --public-key FILE "
     "--out FILE.tar.gz"},
    {"verify-bundle", enclave::cli::cmd_verify_bundle, "verify-bundle FILE.tar.gz"},
    {"keys", enclave::cli::cmd_keys,
     "keys create --role owner|member|viewer|metrics [--name NAME] [--e2b] [--json] | keys list "
     "[--json] | keys revoke KEYID [--json]"},
    {"secrets", enclave::cli::cmd_secrets,
     "secrets set NAME --host HOST:PORT… [--header H] [--format F] [--value-file FILE|-] [--json] "
     "| secrets list [--json] | secrets rm NAME [--json]"},
};

void print_usage(std::ostream& out) {
  out << "usage: enclave VERB [ARGS]\n\n";
  for (const auto& c : kCommands) out << "  enclave " << c.usage << "\n";
  out << "\nevery verb answers --help; every verb with --json also takes --output json|table\n";
  out << "environment: ENCLAVE_BASE_URL (default http://127.0.0.1:8090), ENCLAVE_API_KEY\n"
         "fleet watch tiles: . queued  s starting  R running  o succeeded  K killed  F failed\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help") ||
      !std::strcmp(argv[1], "help")) {
    print_usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  std::string verb = argv[1];
  for (const auto& c : kCommands) {
    if (verb == c.verb) {
      Args args;
      for (int i = 2; i < argc; ++i) args.words.emplace_back(argv[i]);
      if (enclave::cli::wants_help(args.words)) {  // every verb answers --help, rc 0
        std::cout << "usage: enclave " << c.usage << "\n";
        return 0;
      }
      return c.run(args);
    }
  }
  std::cerr << "enclave: unknown verb '" << verb << "'";
  std::vector<std::string> verbs;
  for (const auto& c : kCommands) verbs.emplace_back(c.verb);
  if (auto guess = enclave::cli::closest(verb, verbs); !guess.empty())
    std::cerr << " (did you mean '" << guess << "'?)";
  std::cerr << "\n";
  print_usage(std::cerr);
  return 2;
}
