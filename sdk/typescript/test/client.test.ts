import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  BadRequest,
  Client,
  Conflict,
  DEFAULT_BASE_URL,
  EnclaveConnectionError,
  EnclaveError,
  EnclaveTimeout,
  Fleet,
  NotFound,
  PayloadTooLarge,
  Session,
  type StreamEvent,
} from "../src/index.js";
import { TestServer } from "./server.js";

const server = new TestServer();
let c: Client;

before(async () => {
  await server.start();
  c = new Client(server.baseUrl);
});
after(() => server.stop());

async function rejects<E extends EnclaveError>(p: Promise<unknown>, cls: new (...a: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    return e as E;
  }
  assert.fail(`expected ${cls.name}, nothing thrown`);
}

describe("construction", () => {
  it("reads ENCLAVE_BASE_URL / ENCLAVE_API_KEY and defaults", async () => {
    const old = { ...process.env };
    try {
      process.env.ENCLAVE_BASE_URL = server.baseUrl;
      process.env.ENCLAVE_API_KEY = "enc_test";
      const e = new Client();
      assert.equal(e.baseUrl, server.baseUrl);
      assert.ok(!String(e).includes("enc_test"));
      assert.equal((await e.healthz()).status, "ok");
      delete process.env.ENCLAVE_BASE_URL;
      assert.equal(new Client().baseUrl, DEFAULT_BASE_URL);
      assert.equal(new Client({ baseUrl: server.baseUrl + "/" }).baseUrl, server.baseUrl);
    } finally {
      process.env = old;
    }
  });

  it("connection errors are EnclaveConnectionError", async () => {
    const e = await rejects(new Client("http://127.0.0.1:1", undefined).healthz(), EnclaveConnectionError);
    assert.ok(e instanceof EnclaveError);
  });
});

describe("batch", () => {
  it("run() waits and returns the result", async () => {
    const r = await c.run("print('hello')\nenclave.result({'v': 5})");
    assert.ok(r instanceof Session);
    assert.equal(r.phase, "succeeded");
    assert.equal(r.exitCode, 0);
    assert.equal(r.killReason, null);
    assert.deepEqual(r.json, { v: 5 });
    assert.deepEqual(r.result, { v: 5 });
    assert.equal(r.stdout, "hello\n");
    assert.equal(r.stderr, "");
    assert.ok(r.id);
    assert.match(String(r), /json=\{"v":5\}/);
    assert.deepEqual((JSON.parse(JSON.stringify(r)) as { result: { json: unknown } }).result.json, { v: 5 });
  });

  it("failure carries exit code and stderr", async () => {
    const r = await c.run('#@sim stderr="boom"\n#@sim exit=3\n');
    assert.equal(r.phase, "failed");
    assert.equal(r.exitCode, 3);
    assert.match(r.stderr, /boom/);
    assert.equal(r.json, null);
  });

  it("wall-clock kill", async () => {
    const r = await c.run("#@sim hang\n", { limits: { wallClockSeconds: 1 }, timeoutMs: 30_000 });
    assert.equal(r.phase, "killed");
    assert.equal(r.killReason, "wall_clock_exceeded");
  });

  it("createSession with waitMs answers the ended session with its output (synchronous run)", async () => {
    const s = await c.createSession({ code: "print(3)\nenclave.result([1])" }, { waitMs: 30_000 });
    assert.equal(s.phase, "succeeded");
    assert.equal(s.stdout, "3\n");
    assert.deepEqual(s.json, [1]);
    assert.equal(s.resultView?.final, true);
    assert.equal((s.view as { result?: unknown }).result, undefined); // kept apart from the view
  });

  it("a wait that ends first answers the session as it stands, and waiting goes on", async () => {
    const t0 = Date.now();
    const s = await c.createSession({ code: "#@sim hang\n" }, { waitMs: 1000 });
    assert.ok(Date.now() - t0 >= 900);
    assert.ok(!s.terminal);
    assert.equal(s.resultView?.final, false);
    await c.getSession(s.id).then((h) => h.teardown());
    await s.wait({ timeoutMs: 30_000 });
    assert.equal(s.phase, "killed");
    assert.equal(s.resultView?.final, true);
  });

  it("run() waits are bounded", async () => {
    const t0 = Date.now();
    await rejects(c.run("#@sim hang\n", { name: "bounded-ts", timeoutMs: 500 }), EnclaveTimeout);
    assert.ok(Date.now() - t0 < 5000);
    for await (const s of c.iterSessions({ phase: "running" })) {
      if (s.name === "bounded-ts") {
        await s.teardown();
        assert.equal(s.killReason, "torn_down");
      }
    }
  });

  it("create, get, list, result, teardown", async () => {
    const s = await c.createSession({
      code: '#@sim stdout="x"\n#@sim sleep_ms=200\n',
      name: "lister",
      limits: { memoryMb: 128 },
      egress: { mode: "allow_list", allow: ["example.com:443"] },
    });
    assert.ok(["queued", "starting", "running"].includes(s.phase));
    assert.equal(s.view.limits.memoryMb, 128);
    assert.deepEqual(s.view.egress.allow, ["example.com:443"]);
    assert.equal((await c.getSession(s.id)).id, s.id);
    await s.wait({ timeoutMs: 30_000 });
    assert.equal(s.phase, "succeeded");
    assert.equal((await s.fetchResult()).stdout, "x\n");
    assert.equal((await c.getResult(s.id)).final, true);
    const ids: string[] = [];
    for await (const x of c.iterSessions({ pageSize: 2 })) ids.push(x.id);
    assert.ok(ids.includes(s.id));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal((await c.listSessions({ limit: 1 })).sessions.length, 1);
    assert.ok((await c.listSessions({ phase: "succeeded", limit: 1000 })).sessions.some((x) => x.id === s.id));
    assert.equal((await c.teardown(s.id)).phase, "succeeded"); // idempotent on an ended session
    const h = await c.createSession({ code: "#@sim hang\n" });
    await h.wait({ until: "running", timeoutMs: 30_000 });
    await h.teardown();
    assert.deepEqual([h.phase, h.killReason], ["killed", "torn_down"]);
  });
});

describe("errors", () => {
  it("404 NotFound with code", async () => {
    const e = await rejects(c.getSession("no-such-session"), NotFound);
    assert.deepEqual([e.status, e.code], [404, "not_found"]);
    assert.ok(e.message);
    await rejects(c.getFleet("no-such-fleet"), NotFound);
    await rejects(c.audit("no-such-session"), NotFound);
    await rejects((async () => { for await (const _ of c.stream("no-such-session", { timeoutMs: 5000 })) void _; })(), NotFound);
  });

  it("400 names the field", async () => {
    let e = await rejects(c.createSession({ code: "print(1)", limits: { memoryMb: -1 } }), BadRequest);
    assert.deepEqual([e.status, e.code, e.field], [400, "invalid_argument", "limits.memoryMb"]);
    e = await rejects(c.createSession({ code: "print(1)", bogus: 1 }), BadRequest);
    assert.equal(e.field, "bogus");
    e = await rejects(c.createFleet([{ code: "x", limits: { pids: 0 } }]), BadRequest);
    assert.equal(e.field, "members[0].limits.pids");
    assert.match(String(e), /limits\.pids/);
  });

  it("413 PayloadTooLarge", async () => {
    const e = await rejects(c.createSession({ code: "#".repeat(1 << 20) }), PayloadTooLarge);
    assert.equal(e.status, 413);
    assert.ok(e.code);
  });

  it("409 Conflict after the session ended", async () => {
    const s = await c.withSession({}, async (s) => {
      await s.exec("x = 1");
      return s;
    });
    const e = await rejects(s.exec("x"), Conflict);
    assert.deepEqual([e.status, e.code], [409, "session_not_running"]);
  });
});

describe("interactive", () => {
  it("withSession runs turns and tears down", async () => {
    const s = await c.withSession({ name: "ctx" }, async (s) => {
      assert.deepEqual([s.phase, s.execMode], ["running", "interactive"]);
      const t1 = await s.exec("print('a')\nenclave.result(7)");
      assert.deepEqual([t1.turn, t1.stdout, t1.exitCode, t1.json], [1, "a\n", 0, 7]);
      const t2 = await s.exec("#@sim exit=2\n", { timeoutMs: 5000 });
      assert.deepEqual([t2.turn, t2.exitCode], [2, 2]);
      assert.equal((await c.exec(s.id, "print('b')")).turn, 3);
      return s;
    });
    assert.equal(s.tornDown, true);
    assert.deepEqual([s.phase, s.killReason], ["killed", "torn_down"]);
    assert.equal((await s.refresh()).turns, 3);
  });

  it("await using tears down at scope end", { skip: typeof Symbol.asyncDispose !== "symbol" }, async () => {
    let id = "";
    {
      await using s = await c.session();
      id = s.id;
      assert.equal((await s.exec("print('u')")).stdout, "u\n");
    }
    const after = await c.getSession(id);
    assert.deepEqual([after.phase, after.killReason], ["killed", "torn_down"]);
  });

  it("session() + close()", async () => {
    const s = await c.session();
    assert.equal(s.phase, "running");
    await s.close();
    assert.equal(s.killReason, "torn_down");
  });
});

describe("turn timeout", () => {
  it("a turn past timeoutMs is interrupted (exitCode null), the session goes on; one that ignores the interrupt ends it", async () => {
    await c.withSession({}, async (s) => {
      const t = await s.exec("#@sim hang\n", { timeoutMs: 300 });
      assert.equal(t.exitCode, null);
      assert.ok(t.durationMs >= 300);
      assert.match(t.stderr, /KeyboardInterrupt/);
      assert.equal((await s.exec("print('b')")).stdout, "b\n");
      const stuck = await s.exec("#@sim hang\n#@sim ignore_interrupt\n", { timeoutMs: 300 });
      assert.equal(stuck.exitCode, null);
      await s.wait({ timeoutMs: 10_000 });
      assert.deepEqual([s.phase, s.killReason], ["killed", "wall_clock_exceeded"]);
    });
  });
});

describe("audit and events", () => {
  it("audit trail is a hash chain", async () => {
    const r = await c.run("enclave.result(1)");
    await r.wait({ until: "tornDown", timeoutMs: 10_000 });
    const evs = await r.audit();
    assert.equal(evs[0].type, "session_created");
    assert.ok(evs.some((e) => e.type === "workload_exited"));
    assert.deepEqual(evs.map((e) => e.seq), evs.map((_, i) => i + 1));
    assert.equal(evs[0].prevHash, "");
    for (let i = 1; i < evs.length; i++) assert.equal(evs[i].prevHash, evs[i - 1].hash);
  });

  it("stream() of a finished session replays audit then end", async () => {
    const r = await c.run("enclave.result(1)");
    await r.wait({ until: "tornDown", timeoutMs: 10_000 });
    const got: StreamEvent[] = [];
    for await (const ev of r.stream({ timeoutMs: 10_000 })) got.push(ev);
    assert.equal(got.at(-1)?.event, "end");
    assert.equal((got.at(-1)?.data as { sessionId: string }).sessionId, r.id);
    const types = got.filter((e) => e.event === "audit").map((e) => (e.data as { type: string }).type);
    assert.deepEqual(types, (await r.audit()).map((e) => e.type));
  });

  it("stream() is live", async () => {
    const s = await c.session();
    const got: StreamEvent[] = [];
    const reading = (async () => {
      for await (const ev of s.stream({ timeoutMs: 30_000, readTimeoutMs: 20_000 })) got.push(ev);
    })();
    const deadline = Date.now() + 10_000;
    while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await s.exec("print('live')");
    await s.teardown();
    await reading;
    assert.ok(got.some((e) => e.event === "output" && (e.data as { data: string }).data === "live\n"));
    assert.equal(got.at(-1)?.event, "end");
    assert.ok(got.some((e) => e.event === "audit" && (e.data as { type: string }).type === "session_torn_down"));
  });

  it("stream() silence is bounded", async () => {
    const s = await c.session();
    try {
      const t0 = Date.now();
      let e = await rejects((async () => { for await (const _ of s.stream({ readTimeoutMs: 500 })) void _; })(), EnclaveTimeout);
      assert.match(e.message, /silent/);
      e = await rejects((async () => { for await (const _ of s.stream({ timeoutMs: 700 })) void _; })(), EnclaveTimeout);
      assert.match(e.message, /still open/);
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      await s.close();
    }
  });
});

describe("fleets", () => {
  it("create, wait, members, list", async () => {
    const f = await c.createFleet(["enclave.result(1)", { code: "#@sim exit=3\n" }], { name: "two" });
    assert.ok(f instanceof Fleet);
    assert.deepEqual([f.name, f.members.length], ["two", 2]);
    await f.wait({ timeoutMs: 60_000 });
    assert.equal(f.phase, "partial");
    assert.deepEqual([f.counts.succeeded, f.counts.failed], [1, 1]);
    const ss = await f.sessions({ withResults: true });
    assert.deepEqual(ss.map((s) => s.phase), ["succeeded", "failed"]);
    assert.equal(ss[0].json, 1);
    assert.equal(ss[0].fleetId, f.id);
    assert.ok((await c.listFleets()).some((x) => x.id === f.id));
    const listed = (await c.listSessions({ fleetId: f.id })).sessions.map((s) => s.id).sort();
    assert.deepEqual(listed, f.members.map((m) => m.sessionId).sort());
    assert.equal((await c.getFleet(f.id)).phase, "partial");
  });

  it("teardown", async () => {
    const f = await c.createFleet(["#@sim hang\n", "#@sim hang\n"]);
    await f.teardown();
    await f.wait({ timeoutMs: 30_000 });
    assert.equal(f.phase, "failed");
    assert.equal(f.counts.killed, 2);
    assert.deepEqual([...new Set((await f.sessions()).map((s) => s.killReason))], ["torn_down"]);
  });
});
