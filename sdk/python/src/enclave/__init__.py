"""Enclave Python SDK: run untrusted code in Enclave sandboxes over the HTTP API.

    from enclave import Client
    c = Client()                                  # $ENCLAVE_BASE_URL, $ENCLAVE_API_KEY
    r = c.run("enclave.result({'v': 5})")
    print(r.json, r.phase, r.exit_code)           # {'v': 5} succeeded 0
"""
from .client import DEFAULT_BASE_URL, Client, session_request
from .errors import (BadRequest, Conflict, EnclaveConnectionError, EnclaveError, EnclaveTimeout,
                     Forbidden, NotFound, PayloadTooLarge, RateLimited, ServerError, Unauthorized)
from .models import (AuditEvent, Egress, Fleet, FleetCounts, FleetMember, Limits, RichResult,
                     RunResult, Session, SessionPage, StreamEvent, TurnResult)

__version__ = "0.1.0"

__all__ = [
    "Client", "DEFAULT_BASE_URL", "session_request",
    "EnclaveError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict",
    "PayloadTooLarge", "RateLimited", "ServerError", "EnclaveConnectionError", "EnclaveTimeout",
    "AuditEvent", "Egress", "Fleet", "FleetCounts", "FleetMember", "Limits", "RunResult",
    "RichResult", "Session", "SessionPage", "StreamEvent", "TurnResult",
]
