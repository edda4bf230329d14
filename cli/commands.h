// Every verb of the `enclave` CLI. Each returns the process exit code: 0 success, 1 an error
// the API or the workload reported, 2 a usage error; `run`/`exec` return the workload's code.
// To add a verb: write cli/cmd_<verb>.cc, declare it here, add a row to the table in main.cc.
#pragma once

#include "cli/args.h"

namespace enclave::cli {

int cmd_run(const Args& args);   // run FILE|- [--interactive] [--allow H:P]… [--memory-mb N] …
int cmd_list(const Args& args);  // list [--phase P] [--fleet F] [--limit N] [--output table|json]
int cmd_result(const Args& args);      // result SESSION [--wait] [--json]
int cmd_completion(const Args& args);  // completion bash
int cmd_doctor(const Args& args);      // doctor [--data-dir DIR] [--listen HOST:PORT]
int cmd_exec(const Args& args);        // exec SESSION CODE|- [--timeout-ms N] [--json]
int cmd_get(const Args& args);         // get SESSION [--json]
int cmd_kill(const Args& args);        // kill SESSION [--json]
int cmd_pause(const Args& args);       // pause SESSION [--json]
int cmd_resume(const Args& args);      // resume SESSION [--json]
int cmd_fork(const Args& args);        // fork SESSION [--count N] [--json]
int cmd_audit(const Args& args);       // audit SESSION [--json]
int cmd_events(const Args& args);      // events SESSION [--json] (live, until the session ends)
int cmd_fleet(const Args& args);       // fleet submit|watch|get …
int cmd_demo(const Args& args);        // demo fleets-at-scale|interactive-session …
int cmd_replay(const Args& args);      // replay --data-dir DIR [--stream ID] [--until-seq N] …
int cmd_keys(const Args& args);        // keys create|list|revoke (through the API, scope admin)
int cmd_secrets(const Args& args);     // secrets set|list|rm (through the API, scope admin)
int cmd_verify(const Args& args);      // verify --data-dir DIR [--anchor-dir DIR|--sth F] …
int cmd_export(const Args& args);      // export --data-dir DIR --session ID … --out FILE.tar.gz
int cmd_verify_bundle(const Args& args);  // verify-bundle FILE.tar.gz

}  // namespace enclave::cli
