#!/usr/bin/env python3
"""interactive-session with the Python SDK: one warm interpreter across three turns, then
silence until the server's idle reaper ends it.

Turn 1 sets x = 41 and a dataset; turn 2 prints "prior x was 41, answer = 42" computed from
turn 1's state; turn 3 reports the state with enclave.result. Then the example waits for the
idle-TTL reaper (start the server with ENCLAVE_INTERACTIVE_IDLE_TTL=2 to keep this short) and
checks the session ended killed/idle_timeout and that a further exec raises Conflict (409).

    ENCLAVE_BASE_URL=http://127.0.0.1:8090 python3 interactive_session.py --idle-ttl 2
Exits 0 only if every check passes.
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Tuple

from enclave import Client, Conflict

TURN1 = "x = 41\ndataset = [10, 11, 12, 13, 14]\n"
TURN2 = ('print(f"prior x was {x}, answer = {x + 1}")\n'
         '#@sim stdout="prior x was 41, answer = 42"\n')
TURN3 = ('enclave.result({"x": str(x), "answer": str(x + 1), "dataset": str(dataset), '
         '"turns": 3})\n'
         '#@sim result={"x":"41","answer":"42","dataset":"[10, 11, 12, 13, 14]","turns":3}\n')
EXPECTED = {"x": "41", "answer": "42", "dataset": "[10, 11, 12, 13, 14]", "turns": 3}


def run(client: Client, idle_ttl: float = 300.0,
        log=print) -> Tuple[bool, List[Tuple[str, bool, str]], Dict[str, object]]:
    checks: List[Tuple[str, bool, str]] = []
    with client.session(name="interactive-session-demo") as s:
        log(f"session {s.id} is {s.phase}")
        checks.append(("reaches running", s.phase == "running", f"phase {s.phase}"))
        t1 = s.exec(TURN1)
        checks.append(("turn 1 ran", t1.exit_code == 0 and t1.turn == 1,
                       f"turn {t1.turn}, exit {t1.exit_code}"))
        t2 = s.exec(TURN2)
        checks.append(("turn 2 saw turn-1 state",
                       "prior x was 41, answer = 42" in t2.stdout, f"stdout {t2.stdout!r}"))
        t3 = s.exec(TURN3)
        checks.append(("turn 3 result", t3.json == EXPECTED, f"json {t3.json!r}"))

        log(f"waiting for the idle reaper (idle TTL {idle_ttl} s)…")
        s.wait(idle_ttl + 30, until="torn_down")
        checks.append(("idle session reaped",
                       s.phase == "killed" and s.kill_reason == "idle_timeout",
                       f"phase {s.phase}, killReason {s.kill_reason}, tornDown {s.torn_down}"))
        try:
            t4 = s.exec("x")
            refused, detail = False, f"turn after reap answered turn {t4.turn}"
        except Conflict as e:
            refused, detail = e.status == 409, f"turn after reap → {e.status} {e.code}"
        checks.append(("refused after reap", refused, detail))
    # leaving the block tore it down again: idempotent
    again = client.teardown(s.id)
    checks.append(("teardown idempotent", again.phase == "killed" and again.torn_down,
                   f"DELETE → {again.phase}"))
    types = [e.type for e in s.audit()]
    checks.append(("audit shows 3 turns and the kill",
                   types.count("exec_turn") == 3 and "quota_killed" in types,
                   " ".join(types)))
    for name, ok, detail in checks:
        log(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")
    outcome = {"sessionId": s.id, "finalPhase": s.phase, "killReason": s.kill_reason,
               "turn2Stdout": t2.stdout, "turn3Json": t3.json, "auditTypes": types}
    return all(ok for _, ok, _ in checks), checks, outcome


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    ap.add_argument("--idle-ttl", type=float, default=300.0,
                    help="the server's ENCLAVE_INTERACTIVE_IDLE_TTL, bounds the wait")
    args = ap.parse_args(argv)
    ok, checks, _ = run(Client(), args.idle_ttl)
    print(f"interactive-session: {sum(1 for c in checks if c[1])}/{len(checks)} checks passed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
