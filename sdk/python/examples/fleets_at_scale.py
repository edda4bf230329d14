#!/usr/bin/env python3
"""fleets-at-scale with the Python SDK: 9 clean shards + 1 hostile member in one fleet.

Shard i computes i*i+1, prints it and reports {"shard": i, "value": v}; the aggregate of the
clean shards must be 213. The hostile member (deny_all egress, killOnDenied) tries the cloud
metadata endpoint and then fork-bombs; it must not succeed, and its audit trail must carry an
egress_denied event naming 169.254.169.254. The fleet ends "partial".

The `#@sim` lines make the same code meaningful on the simulator backend (which does not run
Python); on gVisor they are plain comments.

    ENCLAVE_BASE_URL=http://127.0.0.1:8090 python3 fleets_at_scale.py [--shards 9]
Exits 0 only if every check passes.
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Tuple

from enclave import Client, session_request

HOSTILE_CODE = """\
import os, urllib.request
try:
    urllib.request.urlopen("http://169.254.169.254/latest/meta-data/", timeout=3)
    print("metadata reachable?!")
except Exception as e:
    print("egress blocked:", e)
while True:
    try:
        os.fork()
    except OSError:
        pass
#@sim egress=169.254.169.254:80
#@sim hang
"""


def shard_code(i: int) -> str:
    v = i * i + 1
    return (f"i = {i}\nvalue = i * i + 1\nprint(f\"shard {{i}}: value={{value}}\")\n"
            "enclave.result({\"shard\": i, \"value\": value})\n"
            f"#@sim stdout=\"shard {i}: value={v}\"\n"
            f"#@sim result={{\"shard\": {i}, \"value\": {v}}}\n")


def run(client: Client, shards: int = 9, timeout: float = 300.0,
        log=print) -> Tuple[bool, List[Tuple[str, bool, str]], Dict[str, object]]:
    members = [session_request(shard_code(i), name=f"shard-{i}") for i in range(shards)]
    members.append(session_request(
        HOSTILE_CODE, name="hostile",
        egress={"mode": "deny_all", "killOnDenied": True},
        limits={"wallClockSeconds": 20, "pids": 32}))
    fleet = client.create_fleet(members, name="fleets-at-scale")
    log(f"fleet {fleet.id}: {shards} clean shards + 1 hostile")
    fleet.wait(timeout)
    log(f"fleet {fleet.id} is {fleet.phase}: {fleet.counts}")

    sessions = fleet.sessions(with_results=True)
    expected = sum(i * i + 1 for i in range(shards))
    aggregate, succeeded = 0, 0
    for s in sessions[:shards]:
        if s.phase == "succeeded" and isinstance(s.json, dict):
            succeeded += 1
            aggregate += int(s.json.get("value", 0))
    hostile = sessions[shards]
    denied = [e.data.get("host") for e in hostile.audit() if e.type == "egress_denied"]
    hostile.wait(30, until="torn_down")

    checks: List[Tuple[str, bool, str]] = [
        ("aggregate", aggregate == expected and succeeded == shards,
         f"sum of clean shard values {aggregate} (expected {expected}), "
         f"{succeeded}/{shards} shards succeeded"),
        ("hostile contained",
         hostile.terminal and hostile.phase != "succeeded" and "169.254.169.254" in denied,
         f"hostile member {hostile.phase}/{hostile.kill_reason}, egress_denied for {denied}"),
        ("fleet phase", fleet.phase == "partial", f"fleet is {fleet.phase} (expected partial)"),
    ]
    for name, ok, detail in checks:
        log(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")
    outcome = {"fleetId": fleet.id, "fleetPhase": fleet.phase, "aggregate": aggregate,
               "hostilePhase": hostile.phase, "hostileKillReason": hostile.kill_reason,
               "hostileDeniedHosts": denied}
    return all(ok for _, ok, _ in checks), checks, outcome


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    ap.add_argument("--shards", type=int, default=9)
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args(argv)
    ok, checks, _ = run(Client(), args.shards, args.timeout)
    print(f"fleets-at-scale: {sum(1 for c in checks if c[1])}/{len(checks)} checks passed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
