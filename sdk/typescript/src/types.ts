/** JSON shapes of the Enclave API (see SPEC.md); field names are the API's lowerCamelCase. */

export type SessionPhase = "queued" | "starting" | "running" | "succeeded" | "failed" | "killed";
export type FleetPhase = "pending" | "running" | "completed" | "partial" | "failed";
export type KillReason =
  | "wall_clock_exceeded"
  | "idle_timeout"
  | "lifetime_exceeded"
  | "turn_budget_exceeded"
  | "memory_exceeded"
  | "pids_exceeded"
  | "egress_denied"
  | "torn_down"
  | "sandbox_error";

export interface Egress {
  mode?: "deny_all" | "allow_list";
  allow?: string[];
  killOnDenied?: boolean;
}

export interface Limits {
  memoryMb?: number;
  cpuMillis?: number;
  pids?: number;
  wallClockSeconds?: number;
  [extra: string]: number | undefined;
}

/** `POST /v1/sessions` body; also a fleet member. */
export interface CreateSessionRequest {
  code?: string;
  language?: string;
  execMode?: "batch" | "interactive";
  egress?: Egress;
  limits?: Limits;
  env?: Record<string, string>;
  stdin?: string;
  name?: string;
  [extra: string]: unknown;
}

export interface SessionView {
  id: string;
  orgId: string;
  createdBy: string;
  fleetId?: string;
  name?: string;
  phase: SessionPhase;
  execMode: "batch" | "interactive";
  language: string;
  egress: Required<Egress>;
  limits: Limits;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  exitCode?: number;
  killReason?: KillReason;
  turns: number;
  tornDown: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  json?: unknown;
  final: boolean;
  truncated: { stdout: boolean; stderr: boolean };
}

export interface TurnResult {
  turn: number;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  json?: unknown;
  durationMs: number;
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

export interface OutputChunk {
  stream: "stdout" | "stderr";
  data: string;
  turn?: number;
}

/** One Server-Sent Event from `GET /v1/sessions/{id}/events`. */
export type StreamEvent =
  | { event: "audit"; data: AuditEvent }
  | { event: "output"; data: OutputChunk }
  | { event: "end"; data: { sessionId: string } & Record<string, unknown> }
  | { event: string; data: unknown };

export interface FleetCounts {
  queued: number;
  starting: number;
  running: number;
  succeeded: number;
  failed: number;
  killed: number;
}

export interface FleetMember {
  index: number;
  sessionId: string;
  phase: SessionPhase;
}

export interface FleetView {
  id: string;
  orgId: string;
  createdBy: string;
  name: string;
  phase: FleetPhase;
  createdAt: string;
  counts: FleetCounts;
  members: FleetMember[];
}

export interface SessionPage<S> {
  sessions: S[];
  nextCursor: string | null;
}
