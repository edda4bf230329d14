/**
 * fleets-at-scale with the TypeScript SDK: 9 clean shards + 1 hostile member in one fleet.
 *
 * Shard i computes i*i+1, prints it and reports {shard: i, value: v}; the clean shards must
 * add up to 213. The hostile member (deny_all egress, killOnDenied) tries the cloud metadata
 * endpoint and then fork-bombs; it must not succeed and its audit trail must carry an
 * egress_denied event naming 169.254.169.254. The fleet ends "partial".
 * The `#@sim` lines make the same code meaningful on the simulator backend.
 *
 *   ENCLAVE_BASE_URL=http://127.0.0.1:8090 node dist/examples/fleets-at-scale.js [--shards 9]
 */
import { Client, type CreateSessionRequest } from "../src/index.js";

export type Check = [name: string, ok: boolean, detail: string];

export const HOSTILE_CODE = `import os, urllib.request
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
`;

export function shardCode(i: number): string {
  const v = i * i + 1;
  return (
    `i = ${i}\nvalue = i * i + 1\nprint(f"shard {i}: value={value}")\n` +
    `enclave.result({"shard": i, "value": value})\n` +
    `#@sim stdout="shard ${i}: value=${v}"\n` +
    `#@sim result={"shard": ${i}, "value": ${v}}\n`
  );
}

export async function runFleetsAtScale(
  client: Client,
  opts: { shards?: number; timeoutMs?: number; log?: (line: string) => void } = {},
): Promise<{ ok: boolean; checks: Check[]; outcome: Record<string, unknown> }> {
  const shards = opts.shards ?? 9;
  const log = opts.log ?? ((l: string) => console.log(l));
  const members: CreateSessionRequest[] = [];
  for (let i = 0; i < shards; i++) members.push({ code: shardCode(i), name: `shard-${i}` });
  members.push({
    code: HOSTILE_CODE,
    name: "hostile",
    egress: { mode: "deny_all", killOnDenied: true },
    limits: { wallClockSeconds: 20, pids: 32 },
  });
  const fleet = await client.createFleet(members, { name: "fleets-at-scale" });
  log(`fleet ${fleet.id}: ${shards} clean shards + 1 hostile`);
  await fleet.wait({ timeoutMs: opts.timeoutMs ?? 300_000 });
  log(`fleet ${fleet.id} is ${fleet.phase}: ${JSON.stringify(fleet.counts)}`);

  const sessions = await fleet.sessions({ withResults: true });
  let expected = 0;
  for (let i = 0; i < shards; i++) expected += i * i + 1;
  let aggregate = 0;
  let succeeded = 0;
  for (const s of sessions.slice(0, shards)) {
    const j = s.json as { value?: number } | undefined;
    if (s.phase === "succeeded" && j && typeof j.value === "number") {
      succeeded++;
      aggregate += j.value;
    }
  }
  const hostile = sessions[shards];
  const denied = (await hostile.audit()).filter((e) => e.type === "egress_denied").map((e) => String(e.data.host));
  await hostile.wait({ until: "tornDown", timeoutMs: 30_000 });

  const checks: Check[] = [
    ["aggregate", aggregate === expected && succeeded === shards,
      `sum of clean shard values ${aggregate} (expected ${expected}), ${succeeded}/${shards} shards succeeded`],
    ["hostile contained", hostile.terminal && hostile.phase !== "succeeded" && denied.includes("169.254.169.254"),
      `hostile member ${hostile.phase}/${hostile.killReason}, egress_denied for ${JSON.stringify(denied)}`],
    ["fleet phase", fleet.phase === "partial", `fleet is ${fleet.phase} (expected partial)`],
  ];
  for (const [name, ok, detail] of checks) log(`${ok ? "PASS" : "FAIL"} ${name}: ${detail}`);
  return {
    ok: checks.every((c) => c[1]),
    checks,
    outcome: { fleetId: fleet.id, fleetPhase: fleet.phase, aggregate, hostilePhase: hostile.phase,
      hostileKillReason: hostile.killReason, hostileDeniedHosts: denied },
  };
}

async function main(argv: string[]): Promise<number> {
  const i = argv.indexOf("--shards");
  const shards = i >= 0 ? Number(argv[i + 1]) : 9;
  const { checks } = await runFleetsAtScale(new Client(), { shards });
  const passed = checks.filter((c) => c[1]).length;
  console.log(`fleets-at-scale: ${passed}/${checks.length} checks passed`);
  return passed === checks.length ? 0 : 1;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then((rc) => process.exit(rc), (e) => { console.error(String(e)); process.exit(2); });
}
