/** Start a throwaway enclaved (simulator backend) for the tests. Binaries: $ENCLAVE_BIN_DIR, else ../build/bin. */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, closeSync, accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url)); // dist/test
export const binDir = resolve(process.env.ENCLAVE_BIN_DIR ?? join(here, "..", "..", "..", "..", "build", "bin"));

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

export class TestServer {
  readonly enclaved = join(binDir, "enclaved");
  readonly tmp = mkdtempSync(join(tmpdir(), "enclave-sdk-ts."));
  readonly dataDir = join(this.tmp, "data");
  readonly logPath = join(this.tmp, "server.log");
  port = 0;
  private proc: ChildProcess | null = null;
  private logFd = -1;

  constructor(private readonly opts: { auth?: boolean; env?: Record<string, string> } = {}) {
    accessSync(this.enclaved, constants.X_OK);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  createKey(org: string, role = "owner"): string {
    const out = execFileSync(this.enclaved, ["keys", "create", "--data-dir", this.dataDir, "--org", org, "--role", role], {
      encoding: "utf8",
      timeout: 30_000,
    });
    return out.trim().split(/\s+/).pop() ?? "";
  }

  logTail(): string {
    try {
      return readFileSync(this.logPath, "utf8").slice(-600);
    } catch {
      return "";
    }
  }

  async start(): Promise<this> {
    this.port = await freePort();
    const args = ["--listen", `127.0.0.1:${this.port}`, "--data-dir", this.dataDir, "--backend", "simulator"];
    if (!this.opts.auth) args.push("--auth", "disabled");
    const env: Record<string, string | undefined> = { ...process.env, ...(this.opts.env ?? {}) };
    delete env.ENCLAVE_AUTH;
    this.logFd = openSync(this.logPath, "a");
    this.proc = spawn(this.enclaved, args, { env, stdio: ["ignore", this.logFd, this.logFd] });
    let exited = false;
    this.proc.once("exit", () => (exited = true));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`enclaved exited at start: ${this.logTail()}`);
      try {
        const r = await fetch(`${this.baseUrl}/v1/healthz`, { signal: AbortSignal.timeout(1000) });
        if (r.ok) return this;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(`enclaved did not answer /v1/healthz within 20 s: ${this.logTail()}`);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p && p.exitCode === null && p.signalCode === null) {
      const done = new Promise<void>((r) => p.once("exit", () => r()));
      p.kill("SIGTERM");
      const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
      await done;
      clearTimeout(t);
    }
    if (this.logFd >= 0) closeSync(this.logFd);
    this.logFd = -1;
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
