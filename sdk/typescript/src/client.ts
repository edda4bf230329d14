import {
  EnclaveConnectionError,
  EnclaveError,
  EnclaveTimeout,
  errorFor,
} from "./errors.js";
import type {
  AuditEvent,
  CreateSessionRequest,
  FleetCounts,
  FleetMember,
  FleetPhase,
  FleetView,
  KillReason,
  Limits,
  RunResult,
  SessionPage,
  SessionPhase,
  SessionView,
  StreamEvent,
  TurnResult,
} from "./types.js";

export const DEFAULT_BASE_URL = "http://127.0.0.1:8090";
const SESSION_TERMINAL: readonly string[] = ["succeeded", "failed", "killed"];
const FLEET_TERMINAL: readonly string[] = ["completed", "partial", "failed"];

export interface ClientOptions {
  /** Default `$ENCLAVE_BASE_URL`, else http://127.0.0.1:8090. */
  baseUrl?: string;
  /** Default `$ENCLAVE_API_KEY`. */
  apiKey?: string;
  /** Bound on every single HTTP request, ms (default 30000). */
  timeoutMs?: number;
}

export interface RunOptions extends Omit<CreateSessionRequest, "code"> {
  /** Bound on waiting for the session to end, ms (default: wall-clock limit + 120 s). */
  timeoutMs?: number;
}

export interface OpenSessionOptions extends CreateSessionRequest {
  /** Bound on waiting for the session to run, ms (default 120000). */
  timeoutMs?: number;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** "terminal" (default), "running" (running or ended) or "tornDown". */
  until?: "terminal" | "running" | "tornDown";
  pollIntervalMs?: number;
}

export interface StreamOptions {
  /** Bound on the whole stream, ms (default 300000). */
  timeoutMs?: number;
  /** Bound on silence between events, ms (default: timeoutMs). The server sends no keep-alives,
   *  so a quiet interactive session is silent until its next turn. */
  readTimeoutMs?: number;
}

export interface ListSessionsOptions {
  fleetId?: string;
  phase?: SessionPhase;
  limit?: number;
  cursor?: string;
}

/** The longest `wait` the server takes, seconds. */
export const MAX_WAIT_SECONDS = 300;
/** Whole seconds for `?wait=`: rounded up (a wait never ends early), 0..300. */
const waitSeconds = (ms: number): number => Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.ceil(ms / 1000)));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const env = (name: string): string | undefined =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
const q = encodeURIComponent;

/** Poll `step` with growing sleeps (50 ms → 1 s) until it returns true or `timeoutMs` passes. */
async function pollUntil(
  step: () => Promise<boolean>,
  timeoutMs: number,
  pollIntervalMs: number,
  onTimeout: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = pollIntervalMs;
  for (;;) {
    if (await step()) return;
    const left = deadline - Date.now();
    if (left <= 0) throw new EnclaveTimeout(onTimeout(), { code: "timeout" });
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 1.5, 1000);
  }
}

class Transport {
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string | undefined,
    readonly timeoutMs: number,
  ) {}

  headers(hasBody: boolean, accept = "application/json"): Record<string, string> {
    const h: Record<string, string> = { Accept: accept, "User-Agent": "enclave-typescript/0.1.0" };
    if (hasBody) h["Content-Type"] = "application/json";
    if (this.apiKey) h["Authorization"] = `Bearer ${this.apiKey}`;
    return h;
  }

  url(path: string, query?: Record<string, string | number | undefined | null>): string {
    let u = this.baseUrl + path;
    if (query) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
      const s = p.toString();
      if (s) u += "?" + s;
    }
    return u;
  }

  /** One JSON request. Idempotent methods (GET, DELETE) are retried up to twice when the server
   *  drops the connection without answering; nothing else is retried. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    opts: { query?: Record<string, string | number | undefined | null>; timeoutMs?: number } = {},
  ): Promise<T> {
    const attempts = method === "GET" || method === "DELETE" ? 3 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce<T>(method, path, body, opts);
      } catch (e) {
        if (attempt >= attempts || !(e instanceof EnclaveConnectionError) || !dropped(e.cause)) throw e;
        await sleep(100 * attempt);
      }
    }
  }

  private async requestOnce<T>(
    method: string,
    path: string,
    body: unknown,
    opts: { query?: Record<string, string | number | undefined | null>; timeoutMs?: number },
  ): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url(path, opts.query), {
        method,
        headers: this.headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      throw transportError(e, `${method} ${this.baseUrl}${path}`, timeoutMs);
    }
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (res.ok)
          throw new EnclaveError(`${method} ${path}: answer is not JSON: ${text.slice(0, 200)}`, {
            code: "bad_response",
            status: res.status,
          });
      }
    }
    if (!res.ok) throw errorFor(res.status, parsed, text.trim().slice(0, 300));
    return parsed as T;
  }

  /** Yield [event, data] pairs of a Server-Sent Events answer until the server closes it. */
  async *sse(path: string, opts: Required<StreamOptions>): AsyncGenerator<[string, string]> {
    const ctl = new AbortController();
    const deadline = Date.now() + opts.timeoutMs;
    let why: "idle" | "total" | null = null;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      if (idle) clearTimeout(idle);
      const total = deadline - Date.now();
      const ms = Math.max(0, Math.min(opts.readTimeoutMs, total));
      idle = setTimeout(() => {
        why = total <= opts.readTimeoutMs ? "total" : "idle";
        ctl.abort();
      }, ms);
    };
    const timeoutError = () =>
      new EnclaveTimeout(
        why === "total"
          ? `GET ${path}: event stream still open after ${opts.timeoutMs} ms`
          : `GET ${path}: stream silent for ${opts.readTimeoutMs} ms`,
        { code: "timeout" },
      );
    arm();
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method: "GET",
        headers: this.headers(false, "text/event-stream"),
        signal: ctl.signal,
      });
    } catch (e) {
      clearTimeout(idle);
      if (why) throw timeoutError();
      throw transportError(e, `GET ${this.baseUrl}${path}`, opts.readTimeoutMs);
    }
    if (!res.ok || !res.body) {
      clearTimeout(idle);
      const text = await res.text().catch(() => "");
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      throw errorFor(res.status, parsed, text.trim().slice(0, 300));
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    let event = "message";
    let data: string[] = [];
    try {
      for (;;) {
        let chunk: { done: boolean; value?: Uint8Array };
        try {
          chunk = await reader.read();
        } catch (e) {
          if (why) throw timeoutError();
          throw transportError(e, `GET ${this.baseUrl}${path}`, opts.readTimeoutMs);
        }
        if (chunk.done) {
          buf += decoder.decode();
        } else {
          arm();
          buf += decoder.decode(chunk.value, { stream: true });
        }
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, "");
          buf = buf.slice(nl + 1);
          if (line === "") {
            if (data.length) yield [event, data.join("\n")];
            event = "message";
            data = [];
            continue;
          }
          if (line.startsWith(":")) continue;
          const i = line.indexOf(":");
          const name = i < 0 ? line : line.slice(0, i);
          let value = i < 0 ? "" : line.slice(i + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (name === "event") event = value;
          else if (name === "data") data.push(value);
        }
        if (chunk.done) {
          if (data.length) yield [event, data.join("\n")];
          return;
        }
      }
    } finally {
      clearTimeout(idle);
      ctl.abort();
      reader.releaseLock?.();
    }
  }
}

/** The server closed or reset the connection without an answer (undici's "other side closed"). */
function dropped(e: unknown): boolean {
  const cause = (e as { cause?: { code?: string } } | null)?.cause;
  return ["UND_ERR_SOCKET", "ECONNRESET", "EPIPE"].includes(cause?.code ?? "");
}

function transportError(e: unknown, what: string, timeoutMs: number): EnclaveError {
  if (e instanceof EnclaveError) return e;
  const name = (e as { name?: string } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError")
    return new EnclaveTimeout(`${what}: no answer within ${timeoutMs} ms`, { code: "timeout", cause: e });
  const cause = (e as { cause?: { code?: string; message?: string } } | null)?.cause;
  const detail = cause?.code ?? cause?.message ?? (e as Error)?.message ?? String(e);
  return new EnclaveConnectionError(`${what}: ${detail}`, { code: "connection_error", cause: e });
}

/**
 * A sandbox session. `client.run()` returns one that has ended, with its output loaded
 * (`json`, `stdout`, `stderr`); `client.session()` an interactive one that is running.
 */
export class Session {
  /** The latest view the server answered. */
  view: SessionView;
  /** Output, filled by `client.run()` / `fetchResult()`. */
  resultView: RunResult | null = null;

  constructor(
    private readonly client: Client,
    view: SessionView,
  ) {
    this.view = view;
  }

  get id(): string { return this.view.id; }
  get phase(): SessionPhase { return this.view.phase; }
  get exitCode(): number | null { return this.view.exitCode ?? null; }
  get killReason(): KillReason | null { return this.view.killReason ?? null; }
  get execMode(): string { return this.view.execMode; }
  get turns(): number { return this.view.turns; }
  get tornDown(): boolean { return this.view.tornDown; }
  get fleetId(): string | null { return this.view.fleetId ?? null; }
  get name(): string | null { return this.view.name ?? null; }
  get orgId(): string { return this.view.orgId; }
  get terminal(): boolean { return SESSION_TERMINAL.includes(this.view.phase); }
  /** The value the workload passed to `enclave.result()` (null if none or not fetched). */
  get json(): unknown { return this.resultView?.json ?? null; }
  /** Alias of `json`. */
  get result(): unknown { return this.json; }
  get stdout(): string { return this.resultView?.stdout ?? ""; }
  get stderr(): string { return this.resultView?.stderr ?? ""; }

  toJSON(): Record<string, unknown> {
    return { ...this.view, ...(this.resultView ? { result: this.resultView } : {}) };
  }

  toString(): string {
    const bits = [`id=${this.id}`, `phase=${this.phase}`];
    if (this.exitCode !== null) bits.push(`exitCode=${this.exitCode}`);
    if (this.killReason) bits.push(`killReason=${this.killReason}`);
    if (this.resultView) bits.push(`json=${JSON.stringify(this.json)}`);
    return `Session(${bits.join(", ")})`;
  }

  /** Re-read the session (`GET /v1/sessions/{id}`). */
  async refresh(): Promise<this> {
    this.view = await this.client.getSessionView(this.id);
    return this;
  }

  /** Wait until terminal (one server-side wait, `GET …/result?wait=S`, which also loads the
   *  output) / running / torn down (these two poll); throws EnclaveTimeout when the bound passes. */
  async wait(opts: WaitOptions = {}): Promise<this> {
    const until = opts.until ?? "terminal";
    if (until === "terminal") return this.waitEnded(Date.now() + (opts.timeoutMs ?? 120_000));
    await pollUntil(
      async () => {
        await this.refresh();
        if (until === "running") return this.phase === "running" || this.terminal;
        return this.tornDown;
      },
      opts.timeoutMs ?? 120_000,
      opts.pollIntervalMs ?? 50,
      () => `session ${this.id} still ${this.phase} after ${opts.timeoutMs ?? 120_000} ms (waiting for ${until})`,
    );
    return this;
  }

  /** Takes a `?wait=S` answer: the session with its `result`. */
  absorb(view: SessionView & { result?: RunResult }): this {
    const { result, ...rest } = view;
    this.view = rest as SessionView;
    if (result) this.resultView = result;
    return this;
  }

  /** Asks the server to answer when the session has ended with its whole output (`final`), in
   *  waits of at most 300 s, until `deadline` (ms since the epoch). */
  async waitEnded(deadline: number): Promise<this> {
    while (!(this.terminal && this.resultView?.final)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new EnclaveTimeout(`session ${this.id} still ${this.phase} when its wait ended`, { code: "timeout" });
      }
      this.absorb(await this.client.waitSessionView(this.id, left));
    }
    return this;
  }

  async fetchResult(): Promise<RunResult> {
    this.resultView = await this.client.getResult(this.id);
    return this.resultView;
  }

  /** One turn in this interactive session; throws Conflict (409) once it has ended. */
  exec(code: string, opts: { timeoutMs?: number } = {}): Promise<TurnResult> {
    return this.client.exec(this.id, code, opts);
  }

  audit(): Promise<AuditEvent[]> {
    return this.client.audit(this.id);
  }

  /** The live event stream (audit, output, end) until the session is terminal. */
  stream(opts: StreamOptions = {}): AsyncGenerator<StreamEvent> {
    return this.client.stream(this.id, opts);
  }

  /** `DELETE /v1/sessions/{id}`: end it and remove its sandbox (idempotent). */
  async teardown(): Promise<this> {
    this.view = await this.client.teardownView(this.id);
    return this;
  }

  close(): Promise<this> {
    return this.teardown();
  }

  /** `await using s = await client.session()` tears the session down at the end of the scope
   *  (Node versions with `Symbol.asyncDispose`, e.g. 20.4+). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.teardown().catch(() => undefined);
  }
}

export class Fleet {
  view: FleetView;

  constructor(
    private readonly client: Client,
    view: FleetView,
  ) {
    this.view = view;
  }

  get id(): string { return this.view.id; }
  get name(): string { return this.view.name; }
  get phase(): FleetPhase { return this.view.phase; }
  get counts(): FleetCounts { return this.view.counts; }
  get members(): FleetMember[] { return this.view.members; }
  get terminal(): boolean { return FLEET_TERMINAL.includes(this.view.phase); }

  toJSON(): FleetView { return this.view; }

  async refresh(): Promise<this> {
    this.view = await this.client.getFleetView(this.id);
    return this;
  }

  /** Poll until the fleet is completed, partial or failed. */
  async wait(opts: { timeoutMs?: number; pollIntervalMs?: number } = {}): Promise<this> {
    const timeoutMs = opts.timeoutMs ?? 600_000;
    await pollUntil(
      async () => (await this.refresh()).terminal,
      timeoutMs,
      opts.pollIntervalMs ?? 100,
      () => `fleet ${this.id} still ${this.phase} after ${timeoutMs} ms`,
    );
    return this;
  }

  /** Full views of every member in index order (optionally with their output). */
  async sessions(opts: { withResults?: boolean } = {}): Promise<Session[]> {
    const ms = [...this.members].sort((a, b) => a.index - b.index);
    return Promise.all(
      ms.map(async (m) => {
        const s = await this.client.getSession(m.sessionId);
        if (opts.withResults) await s.fetchResult();
        return s;
      }),
    );
  }

  /** `DELETE /v1/fleets/{id}`: tear down every member. */
  async teardown(): Promise<this> {
    this.view = await this.client.teardownFleetView(this.id);
    return this;
  }
}

/** A client for one Enclave server. */
export class Client {
  readonly baseUrl: string;
  private readonly t: Transport;

  constructor(baseUrlOrOptions?: string | ClientOptions, apiKey?: string) {
    const o: ClientOptions =
      typeof baseUrlOrOptions === "string" ? { baseUrl: baseUrlOrOptions, apiKey } : { ...(baseUrlOrOptions ?? {}) };
    if (apiKey !== undefined && o.apiKey === undefined) o.apiKey = apiKey;
    this.baseUrl = (o.baseUrl || env("ENCLAVE_BASE_URL") || DEFAULT_BASE_URL).replace(/\/+$/, "");
    const key = o.apiKey !== undefined ? o.apiKey : env("ENCLAVE_API_KEY");
    this.t = new Transport(this.baseUrl, key || undefined, o.timeoutMs ?? 30_000);
  }

  toString(): string {
    return `Client(${this.baseUrl})`;
  }

  healthz(): Promise<{ status: string; backend?: string }> {
    return this.t.request("GET", "/v1/healthz");
  }

  // -- sessions ---------------------------------------------------------------------------------
  /** `POST /v1/sessions`. Without `waitMs` it returns at once (usually still queued or
   *  starting); with it (at most 300 s) the server answers when the session has ended — output
   *  loaded — or after that long, as it stands. */
  async createSession(req: CreateSessionRequest, opts: { waitMs?: number } = {}): Promise<Session> {
    const wait = opts.waitMs === undefined ? undefined : waitSeconds(opts.waitMs);
    const view = await this.t.request<SessionView & { result?: RunResult }>("POST", "/v1/sessions", { language: "python", ...req }, {
      query: { wait },
      timeoutMs: wait === undefined ? undefined : Math.max(this.t.timeoutMs, (wait + 30) * 1000),
    });
    return new Session(this, view).absorb(view);
  }

  /** Run `code` as a batch session, wait for it to end, and return it with its output loaded.
   *  One synchronous call (`POST /v1/sessions?wait=S`): no polling interval adds to the result. */
  async run(code: string, opts: RunOptions = {}): Promise<Session> {
    const { timeoutMs, ...req } = opts;
    const wall = (opts.limits as Limits | undefined)?.wallClockSeconds;
    const budget = timeoutMs ?? ((wall ?? 30) + 120) * 1000;
    const deadline = Date.now() + budget;
    const s = await this.createSession({ ...req, code }, { waitMs: Math.min(budget, MAX_WAIT_SECONDS * 1000) });
    return s.waitEnded(deadline);
  }

  /** `GET /v1/sessions/{id}/result?wait=S`: the session with its `result`, answered when it has
   *  ended or after `waitMs` (rounded up to whole seconds, at most 300). */
  waitSessionView(id: string, waitMs: number): Promise<SessionView & { result?: RunResult }> {
    const wait = waitSeconds(waitMs);
    return this.t.request("GET", `/v1/sessions/${q(id)}/result`, undefined, {
      query: { wait },
      timeoutMs: Math.max(this.t.timeoutMs, (wait + 30) * 1000),
    });
  }

  /** Open an interactive session and wait until it runs. Tear it down with `close()`, or use `withSession`. */
  async session(opts: OpenSessionOptions = {}): Promise<Session> {
    const { timeoutMs, ...req } = opts;
    const s = await this.createSession({ execMode: "interactive", ...req });
    try {
      await s.wait({ until: "running", timeoutMs: timeoutMs ?? 120_000 });
    } catch (e) {
      await s.teardown().catch(() => undefined);
      throw e;
    }
    return s;
  }

  /** Open an interactive session, run `fn` with it, and always tear it down afterwards. */
  async withSession<T>(opts: OpenSessionOptions, fn: (s: Session) => Promise<T>): Promise<T> {
    const s = await this.session(opts);
    try {
      return await fn(s);
    } finally {
      await s.teardown().catch(() => undefined);
    }
  }

  async getSession(id: string): Promise<Session> {
    return new Session(this, await this.getSessionView(id));
  }

  getSessionView(id: string): Promise<SessionView> {
    return this.t.request("GET", `/v1/sessions/${q(id)}`);
  }

  async listSessions(opts: ListSessionsOptions = {}): Promise<SessionPage<Session>> {
    const body = await this.t.request<{ sessions?: SessionView[]; nextCursor?: string }>("GET", "/v1/sessions", undefined, {
      query: { fleetId: opts.fleetId, phase: opts.phase, limit: opts.limit, cursor: opts.cursor },
    });
    return {
      sessions: (body.sessions ?? []).map((v) => new Session(this, v)),
      nextCursor: body.nextCursor || null,
    };
  }

  /** Every session matching the filters, following `nextCursor`. */
  async *iterSessions(opts: Omit<ListSessionsOptions, "cursor" | "limit"> & { pageSize?: number; maxPages?: number } = {}): AsyncGenerator<Session> {
    let cursor: string | undefined;
    for (let page = 0; page < (opts.maxPages ?? 1000); page++) {
      const p = await this.listSessions({ fleetId: opts.fleetId, phase: opts.phase, limit: opts.pageSize ?? 100, cursor });
      yield* p.sessions;
      if (!p.nextCursor || p.nextCursor === cursor) return;
      cursor = p.nextCursor;
    }
  }

  getResult(id: string): Promise<RunResult> {
    return this.t.request("GET", `/v1/sessions/${q(id)}/result`);
  }

  /** One interactive turn. The HTTP wait is the turn timeout plus 30 s. */
  exec(id: string, code: string, opts: { timeoutMs?: number } = {}): Promise<TurnResult> {
    const body: { code: string; timeoutMs?: number } = { code };
    if (opts.timeoutMs !== undefined) body.timeoutMs = opts.timeoutMs;
    return this.t.request("POST", `/v1/sessions/${q(id)}/exec`, body, {
      timeoutMs: Math.max(this.t.timeoutMs, (opts.timeoutMs ?? 30_000) + 30_000),
    });
  }

  async audit(id: string): Promise<AuditEvent[]> {
    const body = await this.t.request<{ events?: AuditEvent[] }>("GET", `/v1/sessions/${q(id)}/audit`);
    return body.events ?? [];
  }

  /** Iterate `GET /v1/sessions/{id}/events` (audit, output, end) until the server closes it. */
  async *stream(id: string, opts: StreamOptions = {}): AsyncGenerator<StreamEvent> {
    const timeoutMs = opts.timeoutMs ?? 300_000;
    const o = { timeoutMs, readTimeoutMs: Math.min(opts.readTimeoutMs ?? timeoutMs, timeoutMs) };
    for await (const [event, text] of this.t.sse(`/v1/sessions/${q(id)}/events`, o)) {
      let data: unknown = text;
      try {
        data = JSON.parse(text);
      } catch {
        /* keep the raw text */
      }
      yield { event, data } as StreamEvent;
      if (event === "end") return;
    }
  }

  async teardown(id: string): Promise<Session> {
    return new Session(this, await this.teardownView(id));
  }

  teardownView(id: string): Promise<SessionView> {
    return this.t.request("DELETE", `/v1/sessions/${q(id)}`);
  }

  // -- fleets -----------------------------------------------------------------------------------
  /** `POST /v1/fleets`; each member is a CreateSessionRequest or just a code string. */
  async createFleet(members: Array<CreateSessionRequest | string>, opts: { name?: string } = {}): Promise<Fleet> {
    const body: { name?: string; members: CreateSessionRequest[] } = {
      members: members.map((m) => (typeof m === "string" ? { code: m, language: "python" } : { language: "python", ...m })),
    };
    if (opts.name !== undefined) body.name = opts.name;
    return new Fleet(this, await this.t.request<FleetView>("POST", "/v1/fleets", body));
  }

  async getFleet(id: string): Promise<Fleet> {
    return new Fleet(this, await this.getFleetView(id));
  }

  getFleetView(id: string): Promise<FleetView> {
    return this.t.request("GET", `/v1/fleets/${q(id)}`);
  }

  async listFleets(): Promise<Fleet[]> {
    const body = await this.t.request<{ fleets?: FleetView[] }>("GET", "/v1/fleets");
    return (body.fleets ?? []).map((v) => new Fleet(this, v));
  }

  async teardownFleet(id: string): Promise<Fleet> {
    return new Fleet(this, await this.teardownFleetView(id));
  }

  teardownFleetView(id: string): Promise<FleetView> {
    return this.t.request("DELETE", `/v1/fleets/${q(id)}`);
  }
}
