/** Errors raised by the Enclave SDK. API errors carry the answer's code, message, field and HTTP status. */

export interface EnclaveErrorInit {
  code?: string;
  field?: string | null;
  status?: number | null;
  body?: unknown;
  cause?: unknown;
}

export class EnclaveError extends Error {
  readonly code: string;
  readonly field: string | null;
  readonly status: number | null;
  readonly body: unknown;

  constructor(message: string, init: EnclaveErrorInit = {}) {
    super(message, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.name = new.target.name;
    this.code = init.code ?? "unknown";
    this.field = init.field ?? null;
    this.status = init.status ?? null;
    this.body = init.body;
  }

  override toString(): string {
    const head = (this.status != null ? `HTTP ${this.status} ` : "") + this.code;
    return `${this.name}: ${head}: ${this.message}` + (this.field ? ` (field ${this.field})` : "");
  }
}

/** 400: invalid request; `field` names the offending field when known. */
export class BadRequest extends EnclaveError {}
/** 401: missing, unknown or revoked API key. */
export class Unauthorized extends EnclaveError {}
/** 403: the key's role lacks the needed scope. */
export class Forbidden extends EnclaveError {}
/** 404: no such resource in this org. */
export class NotFound extends EnclaveError {}
/** 409: e.g. `session_not_running` when executing in an ended session. */
export class Conflict extends EnclaveError {}
/** 413: request body over 1 MiB. */
export class PayloadTooLarge extends EnclaveError {}
/** 429: too many requests. */
export class RateLimited extends EnclaveError {}
/** 5xx. */
export class ServerError extends EnclaveError {}
/** The server could not be reached. */
export class EnclaveConnectionError extends EnclaveError {}
/** A bounded wait ran out (HTTP request, poll, or event stream). */
export class EnclaveTimeout extends EnclaveError {}

const BY_STATUS: Record<number, typeof EnclaveError> = {
  400: BadRequest,
  401: Unauthorized,
  403: Forbidden,
  404: NotFound,
  409: Conflict,
  413: PayloadTooLarge,
  429: RateLimited,
};

/** Build the error for an HTTP error answer (`{"error":{"code","message","field"}}`). */
export function errorFor(status: number, body: unknown, fallbackText = ""): EnclaveError {
  let code = "http_error";
  let message = fallbackText || `HTTP ${status}`;
  let field: string | null = null;
  if (body && typeof body === "object" && "error" in body) {
    const e = (body as { error?: unknown }).error;
    if (e && typeof e === "object") {
      const ee = e as { code?: unknown; message?: unknown; field?: unknown };
      if (typeof ee.code === "string" && ee.code) code = ee.code;
      if (typeof ee.message === "string" && ee.message) message = ee.message;
      if (typeof ee.field === "string" && ee.field) field = ee.field;
    }
  }
  const Cls = BY_STATUS[status] ?? (status >= 500 ? ServerError : EnclaveError);
  return new Cls(message, { code, field, status, body });
}
