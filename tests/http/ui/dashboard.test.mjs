// Browser test of the /ui/ dashboard: a real enclaved (simulator backend, API keys), Debian's
// headless Chromium driven by playwright-core. Logs in, watches the scenario fleet (9 shards + 1
// hostile, as in `enclave demo fleets-at-scale --shards 9`) turn from queued to 9 ok + 1 contained
// with phase partial over the fleet's event stream, checks the web grid against `enclave fleet
// get`, opens the hostile member and finds its egress_denied event, and checks that another org
// sees "not found". Every page is saved as a PNG under ARTIFACT_DIR.
// usage: node dashboard.test.mjs BIN_DIR ARTIFACT_DIR
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [BIN, ARTIFACTS] = process.argv.slice(2);
if (!BIN || !ARTIFACTS) {
  console.error("usage: node dashboard.test.mjs BIN_DIR ARTIFACT_DIR");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch {
  console.error("playwright-core is not installed in tests/http/ui: run scripts/install-deps");
  process.exit(1);
}
if (!existsSync(CHROMIUM)) {
  console.error(`no Chromium at ${CHROMIUM}: run scripts/install-deps (Debian package chromium)`);
  process.exit(1);
}
// Flags this machine's Chromium needs: no sandbox as root, no GPU, and no background traffic to
// Google's hosts (the network is closed; see the env notes).
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const WAIT_MS = 30_000; // every wait below is bounded by this

let passed = 0, failed = 0;
function check(cond, what) {
  if (cond) passed++;
  else {
    failed++;
    console.log("FAIL", what);
  }
  return cond;
}

const work = mkdtempSync(join(tmpdir(), "enclave-ui-"));
const data = join(work, "data");
mkdirSync(ARTIFACTS, { recursive: true });

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

function createKey(org) {
  const out = execFileSync(join(BIN, "enclaved"), ["keys", "create", "--data-dir", data, "--org", org, "--role", "owner"], { encoding: "utf8" });
  return out.trim().split(/\s+/).pop();
}

// Polls `pred` (sync or async) until it is truthy or `ms` pass; returns its last value.
async function until(pred, ms = WAIT_MS, step = 50) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, step));
  }
}

// The scenario fleet's members (cli/cmd_demo_fleets.cc): shard i computes i*i+1; the hostile
// member tries the metadata endpoint (the simulator: one denied connection, then it hangs) and is
// killed for it.
function shardCode(i) {
  const v = i * i + 1;
  return `i = ${i}\nvalue = i * i + 1\nprint(f"shard {i}: value={value}")\nenclave.result({"shard": i, "value": value})\n` +
    `#@sim stdout="shard ${i}: value=${v}"\n#@sim result={"shard": ${i}, "value": ${v}}\n`;
}
const HOSTILE = 'import os, urllib.request\ntry:\n    urllib.request.urlopen("http://169.254.169.254/latest/meta-data/", timeout=3)\n' +
  'except Exception as e:\n    print("egress blocked:", e)\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n' +
  "#@sim egress=169.254.169.254:80\n#@sim hang\n";
const MEMBERS = [
  ...Array.from({ length: 9 }, (_, i) => ({ code: shardCode(i), language: "python" })),
  { code: HOSTILE, name: "hostile-member", language: "python", egress: { mode: "deny_all", killOnDenied: true }, limits: { wallClockSeconds: 20, pids: 32 } },
];

let server = null, context = null, keyA = "", keyB = "";
try {
  keyA = createKey("acme");
  keyB = createKey("globex");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = openSync(join(work, "server.log"), "w");
  // Ceiling 1: a blocker session holds the only slot, so the fleet waits queued until the test
  // has the page open; then the blocker is torn down and the grid must turn live.
  server = spawn(join(BIN, "enclaved"), ["--listen", `127.0.0.1:${port}`, "--data-dir", data, "--backend", "simulator", "--auth", "keys", "--max-concurrency", "1", "--log-level", "debug"], { stdio: ["ignore", log, log] });
  const healthy = await until(async () => {
    if (server.exitCode !== null) throw new Error("enclaved exited at start; see " + join(work, "server.log"));
    try {
      return (await fetch(base + "/v1/healthz")).ok;
    } catch {
      return false;
    }
  });
  if (!healthy) throw new Error("enclaved did not answer /v1/healthz");
  const api = async (key, method, path, body) => {
    const r = await fetch(base + path, { method, headers: { Authorization: "Bearer " + key, "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
    return { status: r.status, json: await r.json() };
  };

  // ---- the dashboard's files and the fleet stream, over plain HTTP -----------------------------
  const js = await fetch(base + "/ui/app.js");
  check(js.ok && js.headers.get("content-type").startsWith("text/javascript"), "/ui/app.js is served as JavaScript");
  const csp = (await fetch(base + "/ui/")).headers.get("content-security-policy") ?? "";
  check(csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), `/ui/ has a strict CSP (${csp})`);
  const missing = await fetch(base + "/ui/nope.js");
  check(missing.status === 404 && (await missing.json()).error.code === "not_found", "/ui/nope.js is a 404 JSON error");

  const blocker = await api(keyA, "POST", "/v1/sessions", { code: "#@sim hang\n", name: "blocker" });
  check(blocker.status === 201, "blocker session created");
  check(await until(async () => (await api(keyA, "GET", "/v1/sessions/" + blocker.json.id)).json.phase === "running"), "blocker running");
  const created = await api(keyA, "POST", "/v1/fleets", { name: "fleets-at-scale", members: MEMBERS });
  check(created.status === 201, "fleet created");
  const fleetId = created.json.id;
  const other = await fetch(`${base}/v1/fleets/${fleetId}/events`, { headers: { Authorization: "Bearer " + keyB } });
  check(other.status === 404 && (await other.json()).error.code === "not_found", "another org's fleet stream is 404 not_found");
  const noKey = await fetch(`${base}/v1/fleets/${fleetId}/events`);
  check(noKey.status === 401, "the fleet stream needs a key");
  {
    const ac = new AbortController();
    const r = await fetch(`${base}/v1/fleets/${fleetId}/events`, { headers: { Authorization: "Bearer " + keyA }, signal: ac.signal });
    const reader = r.body.getReader();
    let text = "";
    const gotFirst = await until(async () => {
      const { value, done } = await reader.read();
      text += new TextDecoder().decode(value ?? new Uint8Array());
      return done || text.includes("\n\n");
    });
    ac.abort();
    const first = text.split("\n\n")[0];
    check(gotFirst && r.headers.get("content-type") === "text/event-stream" && first.startsWith("event: fleet\n") &&
      JSON.parse(first.split("data: ")[1]).members.length === 10, "the fleet stream starts with the whole fleet");
  }

  context = await chromium.launchPersistentContext(join(work, "chromium-profile"), {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  const shot = (name) => page.screenshot({ path: join(ARTIFACTS, name + ".png"), fullPage: true });

  // ---- log in ---------------------------------------------------------------------------------
  await page.goto(base + "/ui/");
  await page.waitForSelector("#api-key", { timeout: WAIT_MS });
  await shot("01-login");
  await page.fill("#api-key", "enc_not_a_key");
  await page.click("#sign-in");
  await page.waitForFunction(() => document.querySelector("[data-testid=login-error]")?.textContent?.includes("not accepted"), null, { timeout: WAIT_MS });
  check((await page.textContent("[data-testid=login-error]")).includes("not accepted") &&
        (await page.$("[data-testid=fleets]")) === null && (await page.$("#api-key")) !== null,
        "a wrong key is refused (error shown, still on the login form, no fleet list)");
  await page.fill("#api-key", keyA);
  await page.click("#sign-in");
  await page.waitForSelector(`[data-testid=fleets] a[href="#/fleets/${fleetId}"]`, { timeout: WAIT_MS });
  check(await page.evaluate(() => sessionStorage.getItem("enclave.apiKey") !== null && localStorage.length === 0), "the key is kept in the tab (sessionStorage), not localStorage");
  check(!page.url().includes(keyA), "the key is not in the URL");
  await shot("02-fleets");

  // ---- the fleet grid, live -------------------------------------------------------------------
  await page.click(`[data-testid=fleets] a[href="#/fleets/${fleetId}"]`);
  await page.waitForSelector("[data-testid=grid] .tile", { timeout: WAIT_MS });
  const queued = await page.$$eval("[data-testid=grid] .tile", (ts) => ts.map((t) => t.textContent).join(""));
  check(queued === ".".repeat(10), `all 10 members queued behind the blocker (grid ${queued})`);
  check((await page.textContent("[data-testid=fleet-phase]")) === "pending", "fleet phase pending while queued");
  await shot("03-fleet-queued");
  const navigations = [];
  page.on("framenavigated", (f) => f === page.mainFrame() && navigations.push(f.url()));
  const torn = await api(keyA, "DELETE", "/v1/sessions/" + blocker.json.id);
  check(torn.status === 200, "blocker torn down");
  const final = await until(() => page.evaluate(() => {
    const phase = document.querySelector("[data-testid=fleet-phase]")?.textContent;
    return phase === "partial" ? phase : null;
  }));
  check(final === "partial", "fleet phase turns partial on the page");
  const tiles = await page.$$eval("[data-testid=grid] .tile", (ts) => ts.map((t) => ({ i: Number(t.dataset.index), tile: t.textContent, phase: t.dataset.phase })));
  check(tiles.filter((t) => t.tile === "o").length === 9, "9 ok tiles");
  check(tiles.filter((t) => t.tile === "K").length === 1 && tiles[9].tile === "K", "1 contained (K) tile: the hostile member, index 9");
  check(navigations.length === 0, "the grid turned without a page load (live over the event stream)");
  check((await page.textContent("[data-testid=counts]")).includes("succeeded 9") && (await page.textContent("[data-testid=counts]")).includes("killed 1"), "counts say 9 succeeded, 1 killed");
  await page.waitForSelector("[data-testid=usage]", { timeout: WAIT_MS });
  await shot("04-fleet-partial");

  // ---- the web grid agrees with the CLI's -----------------------------------------------------
  const cli = execFileSync(join(BIN, "enclave"), ["fleet", "get", fleetId], { encoding: "utf8", env: { ...process.env, ENCLAVE_BASE_URL: base, ENCLAVE_API_KEY: keyA } });
  const cliRows = cli.split("\n").filter((l) => /^\s+\d+  \S/.test(l)).map((l) => l.trim().split(/\s+/));
  const webRows = await page.$$eval("[data-testid=grid] .row", (rs) => rs.map((r) => [r.querySelector(".rowlabel").textContent, [...r.querySelectorAll(".tile")].map((t) => t.textContent).join("")]));
  check(JSON.stringify(cliRows) === JSON.stringify(webRows), `web grid ${JSON.stringify(webRows)} = CLI grid ${JSON.stringify(cliRows)}`);
  const cliProgress = (cli.match(/\d+\/\d+ ended \(\d+%\)/) ?? [""])[0];
  check(cliProgress === "10/10 ended (100%)" && (await page.textContent("[data-testid=counts]")).includes(cliProgress), `web progress = CLI progress (${cliProgress})`);
  const cliLegend = (cli.split("\n").find((l) => l.startsWith("legend:")) ?? "").replace("legend:", "").trim().split(/\s{2,}/).map((p) => p.split(" "));
  const webLegend = await page.$$eval("[data-testid=legend] > span", (ss) => ss.map((s) => [s.dataset.tile, s.dataset.phase]));
  check(cliLegend.length === 6 && JSON.stringify(cliLegend) === JSON.stringify(webLegend), `web legend ${JSON.stringify(webLegend)} = CLI legend ${JSON.stringify(cliLegend)}`);

  // ---- the hostile member ---------------------------------------------------------------------
  const hostileTile = await page.$eval('[data-testid=grid] .tile[data-index="9"]', (t) => [t.title, t.dataset.reason]);
  check(hostileTile[0].includes("hostile-member") && hostileTile[0].includes("killed (egress_denied)") && hostileTile[1] === "egress_denied",
    `the killed tile names the member and the reason: ${JSON.stringify(hostileTile)}`);
  await page.click('[data-testid=grid] .tile[data-index="9"]');
  await page.waitForSelector("[data-testid=timeline] li[data-type=egress_denied]", { timeout: WAIT_MS });
  const denied = await page.textContent("[data-testid=timeline] li[data-type=egress_denied]");
  check(denied.includes("169.254.169.254"), `egress_denied names the metadata host (${denied})`);
  check((await page.textContent("[data-testid=kill-reason]").catch(() => "")) === "egress_denied" ||
    (await until(async () => (await page.textContent("[data-testid=summary]")).includes("egress_denied"))), "kill reason egress_denied shown");
  const chain = await until(() => page.evaluate(() => document.querySelector("[data-testid=chain]")?.getAttribute("data-verified")));
  check(chain === "true", "the audit chain shows verified");
  await until(() => page.evaluate(() => document.querySelector("[data-testid=timeline] li[data-type=session_torn_down]")));
  await shot("05-session-hostile");

  // ---- a shard's output -----------------------------------------------------------------------
  await page.goBack();
  await page.waitForSelector('[data-testid=grid] .tile[data-index="3"]', { timeout: WAIT_MS });
  await page.click('[data-testid=grid] .tile[data-index="3"]');
  check(await until(async () => (await page.textContent("[data-testid=stdout]").catch(() => "")).includes("shard 3: value=10")), "shard 3's output on its page");
  check(await until(async () => JSON.parse(await page.textContent("[data-testid=result-json]").catch(() => "null") || "null")?.value === 10), "shard 3's enclave.result() JSON on its page");
  await shot("06-session-shard");

  // ---- usage ----------------------------------------------------------------------------------
  await page.click('nav a[href="#/usage"]');
  await page.waitForSelector("[data-testid=usage]", { timeout: WAIT_MS });
  check((await page.textContent("[data-testid=usage]")).includes("11"), "usage counts the org's 11 sessions");
  await shot("07-usage");

  // ---- another org ----------------------------------------------------------------------------
  await page.click("#sign-out");
  await page.waitForSelector("#api-key", { timeout: WAIT_MS });
  await page.fill("#api-key", keyB);
  await page.click("#sign-in");
  await page.waitForSelector("[data-testid=fleets]", { timeout: WAIT_MS });
  check(!(await page.content()).includes(fleetId), "globex's fleet list does not show acme's fleet");
  await page.goto(`${base}/ui/#/fleets/${fleetId}`);
  await page.waitForSelector("[data-testid=not-found]", { timeout: WAIT_MS });
  check((await page.textContent("[data-testid=not-found]")).toLowerCase().includes("not found"), "another org's fleet URL shows not found");
  check((await page.$("[data-testid=grid]")) === null, "and no grid");
  await shot("08-other-org-not-found");
  await page.goto(`${base}/ui/#/sessions/${tiles.length ? (created.json.members[9].sessionId) : ""}`);
  await page.waitForSelector("[data-testid=not-found]", { timeout: WAIT_MS });
  check((await page.textContent("[data-testid=not-found]")).toLowerCase().includes("not found") &&
        (await page.$("[data-testid=timeline]")) === null,
        "another org's session URL shows not found (and no timeline of it)");

  // 401 (the wrong key) and 404 (the other org's fleet) are expected answers, not errors.
  const unexpected = consoleErrors.filter((e) => !/status of (401|404)/.test(e));
  check(unexpected.length === 0, "no script or CSP errors in the page: " + unexpected.slice(0, 3).join(" | "));
} catch (e) {
  check(false, "test aborted: " + (e?.stack ?? e));
} finally {
  if (context) await context.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await until(() => server.exitCode !== null, 20_000);
  }
  // The server's log (debug level: every request too) never holds an API key.
  const serverLog = existsSync(join(work, "server.log")) ? readFileSync(join(work, "server.log"), "utf8") : "";
  check(serverLog.includes("event=egress_denied") && ![keyA, keyB].some((k) => k && serverLog.includes(k)),
    "the server log has the lifecycle lines and no API key");
  if (failed) console.log("server log kept in", work);
  else rmSync(work, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed; screenshots in ${ARTIFACTS}`);
process.exit(failed ? 1 : 0);
