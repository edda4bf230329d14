// The public API from the browser. The API key lives in this tab only (sessionStorage: gone when
// the tab closes, never shared with other tabs) and travels only in the Authorization header.

const KEY = "enclave.apiKey";

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function clearApiKey(): void {
  sessionStorage.removeItem(KEY);
}

export function authHeaders(): Record<string, string> {
  const k = apiKey();
  return k ? { Authorization: "Bearer " + k } : {};
}

/** An API error answer: `{"error":{"code","message","field"?}}` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function errorOf(r: Response): Promise<ApiError> {
  const text = await r.text();
  try {
    const e = JSON.parse(text).error;
    return new ApiError(r.status, e.code, e.message);
  } catch {
    return new ApiError(r.status, "http_" + r.status, text || r.statusText);
  }
}

/** GET a JSON answer; throws ApiError on a non-2xx status. */
export async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { headers: authHeaders() });
  if (!r.ok) throw await errorOf(r);
  return (await r.json()) as T;
}

export interface FleetMember {
  index: number;
  sessionId: string;
  phase: string;
}

export interface Counts {
  queued: number;
  starting: number;
  running: number;
  succeeded: number;
  failed: number;
  killed: number;
}

export interface Fleet {
  id: string;
  orgId: string;
  name: string;
  phase: string;
  createdAt: string;
  counts: Counts;
  members: FleetMember[];
}

export interface Usage {
  wallMs: number;
  cpuMs: number;
  peakMemoryBytes: number;
  turnMsTotal: number;
}

export interface Session {
  id: string;
  orgId: string;
  fleetId?: string;
  name?: string;
  phase: string;
  execMode: string;
  language: string;
  egress: { mode: string; allow: string[]; killOnDenied: boolean };
  limits: { memoryMb: number; cpuMillis: number; pids: number; wallClockSeconds: number };
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  exitCode?: number;
  killReason?: string;
  turns: number;
  tornDown: boolean;
  usage?: Usage;
}

export interface SessionResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  json?: unknown; // the enclave.result() value; null when none
  final: boolean;
  truncated: { stdout: boolean; stderr: boolean };
}

export interface AuditEvent {
  seq: number;
  type: string;
  message: string;
  data: Record<string, unknown>;
  at: string;
  hash: string;
  prevHash: string;
}

export interface ChainStatus {
  verified: boolean;
  events: number;
  headSeq: number;
  headHash: string;
  problem: string;
}

export interface AuditTrail {
  events: AuditEvent[];
  chain?: ChainStatus;
}
