/**
 * interactive-session with the TypeScript SDK: one warm interpreter across three turns, then
 * silence until the server's idle reaper ends it (start the server with
 * ENCLAVE_INTERACTIVE_IDLE_TTL=2 to keep this short). Checks killed/idle_timeout and that a
 * further exec throws Conflict (409).
 *
 *   ENCLAVE_BASE_URL=http://127.0.0.1:8090 node dist/examples/interactive-session.js --idle-ttl 2
 */
import { isDeepStrictEqual } from "node:util";

import { Client, Conflict, type TurnResult } from "../src/index.js";
import type { Check } from "./fleets-at-scale.js";

export const TURN1 = "x = 41\ndataset = [10, 11, 12, 13, 14]\n";
export const TURN2 = 'print(f"prior x was {x}, answer = {x + 1}")\n#@sim stdout="prior x was 41, answer = 42"\n';
export const TURN3 =
  'enclave.result({"x": str(x), "answer": str(x + 1), "dataset": str(dataset), "turns": 3})\n' +
  '#@sim result={"x":"41","answer":"42","dataset":"[10, 11, 12, 13, 14]","turns":3}\n';
export const EXPECTED = { x: "41", answer: "42", dataset: "[10, 11, 12, 13, 14]", turns: 3 };

export async function runInteractiveSession(
  client: Client,
  opts: { idleTtlSeconds?: number; log?: (line: string) => void } = {},
): Promise<{ ok: boolean; checks: Check[]; outcome: Record<string, unknown> }> {
  const idleTtl = opts.idleTtlSeconds ?? 300;
  const log = opts.log ?? ((l: string) => console.log(l));
  const checks: Check[] = [];
  let t2: TurnResult | undefined;
  let t3: TurnResult | undefined;
  const s = await client.withSession({ name: "interactive-session-demo" }, async (s) => {
    log(`session ${s.id} is ${s.phase}`);
    checks.push(["reaches running", s.phase === "running", `phase ${s.phase}`]);
    const t1 = await s.exec(TURN1);
    checks.push(["turn 1 ran", t1.exitCode === 0 && t1.turn === 1, `turn ${t1.turn}, exit ${t1.exitCode}`]);
    t2 = await s.exec(TURN2);
    checks.push(["turn 2 saw turn-1 state", t2.stdout.includes("prior x was 41, answer = 42"), `stdout ${JSON.stringify(t2.stdout)}`]);
    t3 = await s.exec(TURN3);
    checks.push(["turn 3 result", isDeepStrictEqual(t3.json, EXPECTED), `json ${JSON.stringify(t3.json)}`]);

    log(`waiting for the idle reaper (idle TTL ${idleTtl} s)…`);
    await s.wait({ until: "tornDown", timeoutMs: (idleTtl + 30) * 1000 });
    checks.push(["idle session reaped", s.phase === "killed" && s.killReason === "idle_timeout",
      `phase ${s.phase}, killReason ${s.killReason}, tornDown ${s.tornDown}`]);
    try {
      const t4 = await s.exec("x");
      checks.push(["refused after reap", false, `turn after reap answered turn ${t4.turn}`]);
    } catch (e) {
      const ok = e instanceof Conflict && e.status === 409;
      checks.push(["refused after reap", ok, `turn after reap → ${(e as Conflict).status} ${(e as Conflict).code}`]);
    }
    return s;
  });
  const again = await client.teardown(s.id);
  checks.push(["teardown idempotent", again.phase === "killed" && again.tornDown, `DELETE → ${again.phase}`]);
  const types = (await s.audit()).map((e) => e.type);
  checks.push(["audit shows 3 turns and the kill",
    types.filter((t) => t === "exec_turn").length === 3 && types.includes("quota_killed"), types.join(" ")]);
  for (const [name, ok, detail] of checks) log(`${ok ? "PASS" : "FAIL"} ${name}: ${detail}`);
  return {
    ok: checks.every((c) => c[1]),
    checks,
    outcome: { sessionId: s.id, finalPhase: s.phase, killReason: s.killReason, turn2Stdout: t2?.stdout,
      turn3Json: t3?.json, auditTypes: types },
  };
}

async function main(argv: string[]): Promise<number> {
  const i = argv.indexOf("--idle-ttl");
  const idleTtlSeconds = i >= 0 ? Number(argv[i + 1]) : 300;
  const { checks } = await runInteractiveSession(new Client(), { idleTtlSeconds });
  const passed = checks.filter((c) => c[1]).length;
  console.log(`interactive-session: ${passed}/${checks.length} checks passed`);
  return passed === checks.length ? 0 : 1;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then((rc) => process.exit(rc), (e) => { console.error(String(e)); process.exit(2); });
}
