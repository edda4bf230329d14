"""Minimal JSON-over-HTTP transport on urllib (standard library only)."""
from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from .errors import EnclaveConnectionError, EnclaveError, EnclaveTimeout, error_for

USER_AGENT = "enclave-python/0.1.0"
IDEMPOTENT = ("GET", "DELETE", "HEAD")


def _dropped(e: Optional[BaseException]) -> bool:
    """The server closed or reset the connection without an answer."""
    if isinstance(e, urllib.error.URLError) and isinstance(e.reason, BaseException):
        e = e.reason
    return isinstance(e, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))



def _api_error(e: "urllib.error.HTTPError") -> Exception:
    """The SDK exception for an HTTP error answer (the API's JSON error body when there is one)."""
    raw = e.read() if e.fp is not None else b""
    text = raw.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return error_for(e.code, parsed, text.strip()[:300] or str(e.reason))

class Transport:
    def __init__(self, base_url: str, api_key: Optional[str], timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or None
        self.timeout = timeout

    def _headers(self, has_body: bool, accept: str = "application/json") -> Dict[str, str]:
        h = {"Accept": accept, "User-Agent": USER_AGENT}
        if has_body:
            h["Content-Type"] = "application/json"
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def url(self, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
        u = self.base_url + path
        if query:
            q = {k: str(v) for k, v in query.items() if v is not None and v != ""}
            if q:
                u += "?" + urllib.parse.urlencode(q)
        return u

    def request(self, method: str, path: str, body: Any = None,
                query: Optional[Mapping[str, Any]] = None,
                timeout: Optional[float] = None) -> Tuple[int, Any]:
        """One JSON request. Idempotent methods (GET, DELETE) are retried up to twice when the
        server drops the connection without answering; nothing else is retried."""
        attempts = 3 if method in IDEMPOTENT else 1
        for attempt in range(attempts):
            try:
                return self._request_once(method, path, body, query, timeout)
            except EnclaveConnectionError as e:
                if attempt + 1 >= attempts or not _dropped(e.__cause__):
                    raise
                time.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable")

    def _request_once(self, method: str, path: str, body: Any,
                      query: Optional[Mapping[str, Any]],
                      timeout: Optional[float]) -> Tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url(path, query), data=data, method=method,
                                     headers=self._headers(data is not None))
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as e:
            raise _api_error(e) from None
        except (socket.timeout, TimeoutError) as e:
            raise EnclaveTimeout(f"{method} {path}: no answer within {timeout or self.timeout} s",
                                 code="timeout") from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, (socket.timeout, TimeoutError)):
                raise EnclaveTimeout(f"{method} {path}: no answer within "
                                     f"{timeout or self.timeout} s", code="timeout") from e
            raise EnclaveConnectionError(f"{method} {self.base_url}{path}: {e.reason}",
                                         code="connection_error") from e
        except OSError as e:
            raise EnclaveConnectionError(f"{method} {self.base_url}{path}: {e}",
                                         code="connection_error") from e
        text = raw.decode("utf-8", "replace")
        if not text:
            return status, None
        try:
            return status, json.loads(text)
        except ValueError as e:
            raise EnclaveError(f"{method} {path}: answer is not JSON: {text[:200]!r}",
                               code="bad_response", status=status) from e

    def sse(self, path: str, read_timeout: float,
            total_timeout: Optional[float] = None) -> Iterator[Tuple[str, str]]:
        """Yield (event, data) pairs from a Server-Sent Events answer until the server closes.

        ``read_timeout`` bounds silence between lines, ``total_timeout`` the whole stream; either
        raises :class:`EnclaveTimeout`.
        """
        deadline = time.monotonic() + (total_timeout if total_timeout is not None else 1e9)
        req = urllib.request.Request(self.url(path), method="GET",
                                     headers=self._headers(False, "text/event-stream"))
        try:
            resp = urllib.request.urlopen(req, timeout=read_timeout)
        except urllib.error.HTTPError as e:
            raise _api_error(e) from None
        except (socket.timeout, TimeoutError) as e:
            raise EnclaveTimeout(f"GET {path}: no answer within {read_timeout} s",
                                 code="timeout") from e
        except urllib.error.URLError as e:
            raise EnclaveConnectionError(f"GET {self.base_url}{path}: {e.reason}",
                                         code="connection_error") from e
        with resp:
            event: str = "message"
            data_lines: List[str] = []
            sock = _socket_of(resp)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise EnclaveTimeout(f"GET {path}: event stream still open after "
                                         f"{total_timeout} s", code="timeout")
                if sock is not None:
                    sock.settimeout(max(0.01, min(read_timeout, left)))
                try:
                    line_b = resp.readline()
                except (socket.timeout, TimeoutError) as e:
                    if time.monotonic() >= deadline:
                        raise EnclaveTimeout(f"GET {path}: event stream still open after "
                                             f"{total_timeout} s", code="timeout") from e
                    raise EnclaveTimeout(f"GET {path}: stream silent for {read_timeout} s",
                                         code="timeout") from e
                if not line_b:
                    if data_lines:
                        yield event, "\n".join(data_lines)
                    return
                line = line_b.decode("utf-8", "replace").rstrip("\r\n")
                if line == "":
                    if data_lines:
                        yield event, "\n".join(data_lines)
                    event, data_lines = "message", []
                    continue
                if line.startswith(":"):
                    continue  # comment / keep-alive
                name, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if name == "event":
                    event = value
                elif name == "data":
                    data_lines.append(value)


def _socket_of(resp: Any) -> Optional[socket.socket]:
    """The socket under an http.client response, so each read can get the remaining time."""
    try:
        sock = resp.fp.raw._sock  # CPython: BufferedReader -> SocketIO -> socket
    except AttributeError:
        return None
    return sock if isinstance(sock, socket.socket) else None
