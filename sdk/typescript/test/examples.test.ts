import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { Client } from "../src/index.js";
import { runFleetsAtScale } from "../examples/fleets-at-scale.js";
import { runInteractiveSession } from "../examples/interactive-session.js";
import { TestServer } from "./server.js";

const IDLE_TTL = 2;
const server = new TestServer({ env: { ENCLAVE_INTERACTIVE_IDLE_TTL: String(IDLE_TTL) } });
const quiet = () => undefined;

before(() => server.start());
after(() => server.stop());

describe("reference scenarios", () => {
  it("fleets-at-scale: aggregate 213, hostile contained, fleet partial", async () => {
    const { ok, checks, outcome } = await runFleetsAtScale(new Client(server.baseUrl), { shards: 9, timeoutMs: 120_000, log: quiet });
    assert.ok(ok, JSON.stringify(checks));
    assert.equal(outcome.aggregate, 213);
    assert.equal(outcome.fleetPhase, "partial");
  });

  it("interactive-session: state across turns, idle reaper, 409 after", async () => {
    const { ok, checks, outcome } = await runInteractiveSession(new Client(server.baseUrl), { idleTtlSeconds: IDLE_TTL, log: quiet });
    assert.ok(ok, JSON.stringify(checks));
    assert.equal(outcome.killReason, "idle_timeout");
  });
});
