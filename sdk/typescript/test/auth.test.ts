import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { Client, EnclaveError, Forbidden, NotFound, Unauthorized } from "../src/index.js";
import { TestServer } from "./server.js";

const server = new TestServer({ auth: true });
const keys: Record<string, string> = {};

before(async () => {
  keys.acme = server.createKey("acme", "owner");
  keys.viewer = server.createKey("acme", "viewer");
  keys.beta = server.createKey("beta", "owner");
  await server.start();
});
after(() => server.stop());

async function catchErr(p: Promise<unknown>): Promise<EnclaveError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EnclaveError, String(e));
    return e;
  }
  assert.fail("nothing thrown");
}

describe("auth", () => {
  it("401 without a key", async () => {
    const c = new Client({ baseUrl: server.baseUrl, apiKey: "" });
    assert.equal((await c.healthz()).status, "ok");
    const e = await catchErr(c.run("enclave.result(1)"));
    assert.ok(e instanceof Unauthorized, String(e));
    assert.equal(e.status, 401);
    assert.ok(e.code);
  });

  it("401 with an unknown key", async () => {
    const e = await catchErr(new Client(server.baseUrl, "enc_" + "0".repeat(48)).listSessions());
    assert.ok(e instanceof Unauthorized);
  });

  it("a key works; another org sees 404", async () => {
    const acme = new Client(server.baseUrl, keys.acme);
    const r = await acme.run("enclave.result({'org': 'acme'})");
    assert.deepEqual(r.json, { org: "acme" });
    assert.equal(r.orgId, "acme");
    const beta = new Client(server.baseUrl, keys.beta);
    const e = await catchErr(beta.getSession(r.id));
    assert.ok(e instanceof NotFound);
    assert.equal(e.status, 404);
    for await (const s of beta.iterSessions()) assert.notEqual(s.id, r.id);
    assert.ok((await catchErr(beta.exec(r.id, "print(1)"))) instanceof NotFound);
    const f = await acme.createFleet(["enclave.result(1)"]);
    assert.ok((await catchErr(beta.getFleet(f.id))) instanceof NotFound);
    assert.ok((await catchErr(beta.teardownFleet(f.id))) instanceof NotFound);
    assert.ok(!(await beta.listFleets()).some((x) => x.id === f.id));
    assert.equal((await acme.getFleet(f.id)).id, f.id);
  });

  it("viewer cannot write (403)", async () => {
    const viewer = new Client(server.baseUrl, keys.viewer);
    await viewer.listSessions();
    const e = await catchErr(viewer.createSession({ code: "enclave.result(1)" }));
    assert.ok(e instanceof Forbidden, String(e));
    assert.equal(e.status, 403);
  });
});
