"""Exceptions raised by the Enclave SDK.

Every error the API answers with (``{"error": {"code", "message", "field"}}``) becomes an
:class:`EnclaveError` (or a subclass chosen by HTTP status) carrying ``code``, ``message``,
``field`` and ``status``.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Type


class EnclaveError(Exception):
    """An error answered by the Enclave API, or raised by the SDK itself."""

    def __init__(self, message: str, *, code: str = "unknown", field: Optional[str] = None,
                 status: Optional[int] = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.status = status
        self.body = body

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        parts.append(self.code)
        text = " ".join(parts) + f": {self.message}"
        if self.field:
            text += f" (field {self.field})"
        return text

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
                f"field={self.field!r}, status={self.status!r})")


class BadRequest(EnclaveError):
    """400: the request was invalid; ``field`` names the offending field when known."""


class Unauthorized(EnclaveError):
    """401: no API key, or an unknown/revoked one."""


class Forbidden(EnclaveError):
    """403: the key's role lacks the scope the request needs."""


class NotFound(EnclaveError):
    """404: no such session/fleet in this org (another org's resource is also 404)."""


class Conflict(EnclaveError):
    """409: e.g. ``session_not_running`` when executing in an ended session."""


class PayloadTooLarge(EnclaveError):
    """413: request body over 1 MiB."""


class RateLimited(EnclaveError):
    """429: too many requests."""


class ServerError(EnclaveError):
    """5xx from the server."""


class EnclaveConnectionError(EnclaveError):
    """The server could not be reached (connection refused, DNS, socket timeout)."""


class EnclaveTimeout(EnclaveError, TimeoutError):
    """A bounded wait in the SDK ran out before the awaited state was reached."""


_BY_STATUS: Dict[int, Type[EnclaveError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: RateLimited,
}


def error_for(status: int, body: Any, fallback_text: str = "") -> EnclaveError:
    """Build the exception for an HTTP error answer."""
    code, message, field = "http_error", fallback_text or f"HTTP {status}", None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        e = body["error"]
        code = str(e.get("code") or code)
        message = str(e.get("message") or message)
        f = e.get("field")
        field = str(f) if f else None
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else EnclaveError
    return cls(message, code=code, field=field, status=status, body=body)
