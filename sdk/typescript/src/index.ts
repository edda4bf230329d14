export { Client, DEFAULT_BASE_URL, Fleet, Session } from "./client.js";
export type { ClientOptions, ListSessionsOptions, OpenSessionOptions, RunOptions, StreamOptions, WaitOptions } from "./client.js";
export {
  BadRequest,
  Conflict,
  EnclaveConnectionError,
  EnclaveError,
  EnclaveTimeout,
  Forbidden,
  NotFound,
  PayloadTooLarge,
  RateLimited,
  ServerError,
  Unauthorized,
  errorFor,
} from "./errors.js";
export type * from "./types.js";
