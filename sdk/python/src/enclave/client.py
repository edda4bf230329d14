"""The Enclave API client."""
from __future__ import annotations

import math
import os
import time
import urllib.parse
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Union

from .errors import EnclaveError
from ._transport import Transport
from .models import (AuditEvent, Egress, Fleet, Limits, RunResult, Session, SessionPage,
                     StreamEvent, TurnResult, decode_stream_data)

DEFAULT_BASE_URL = "http://127.0.0.1:8090"

EgressArg = Union[Egress, Mapping[str, Any], None]
LimitsArg = Union[Limits, Mapping[str, Any], None]


def _q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


def session_request(code: Optional[str] = None, *, language: str = "python",
                    exec_mode: Optional[str] = None, egress: EgressArg = None,
                    limits: LimitsArg = None, env: Optional[Mapping[str, str]] = None,
                    stdin: Optional[str] = None, name: Optional[str] = None,
                    **extra: Any) -> Dict[str, Any]:
    """Build a CreateSessionRequest body (camelCase JSON) from Pythonic arguments.

    ``egress``/``limits`` take the dataclasses or plain dicts in API spelling
    (``{"mode": "deny_all", "killOnDenied": True}``). ``extra`` is passed through verbatim.
    """
    body: Dict[str, Any] = {}
    if code is not None:
        body["code"] = code
    if language:
        body["language"] = language
    if exec_mode:
        body["execMode"] = exec_mode
    if egress is not None:
        body["egress"] = egress.to_json() if isinstance(egress, Egress) else dict(egress)
    if limits is not None:
        body["limits"] = limits.to_json() if isinstance(limits, Limits) else dict(limits)
    if env is not None:
        body["env"] = dict(env)
    if stdin is not None:
        body["stdin"] = stdin
    if name is not None:
        body["name"] = name
    body.update(extra)
    return body


#: The longest ``wait`` the server takes (seconds).
MAX_WAIT_SECONDS = 300


def _wait_seconds(wait: float) -> int:
    """Whole seconds for ``?wait=``: rounded up (a wait never ends early), 0..300."""
    return int(min(MAX_WAIT_SECONDS, max(0, math.ceil(wait))))


def _requested_wall_clock(limits: Any) -> Optional[float]:
    if isinstance(limits, Mapping):
        v = limits.get("wallClockSeconds")
    else:
        v = getattr(limits, "wall_clock_seconds", None)
    return float(v) if isinstance(v, (int, float)) and v > 0 else None


class Client:
    """A client for one Enclave server.

    ``base_url`` defaults to ``$ENCLAVE_BASE_URL`` (else ``http://127.0.0.1:8090``), ``api_key``
    to ``$ENCLAVE_API_KEY``. ``timeout`` bounds every single HTTP request (seconds).
    """

    def __init__(self, base_url: Optional[str] = None, api_key: Optional[str] = None, *,
                 timeout: float = 30.0) -> None:
        self.base_url = (base_url or os.environ.get("ENCLAVE_BASE_URL")
                         or DEFAULT_BASE_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("ENCLAVE_API_KEY")
        self._t = Transport(self.base_url, key, timeout)

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, api_key={'***' if self._t.api_key else None})"

    # -- misc -----------------------------------------------------------------------------------
    def healthz(self) -> Dict[str, Any]:
        _, body = self._t.request("GET", "/v1/healthz")
        return body or {}

    # -- sessions -------------------------------------------------------------------------------
    def create_session(self, code: Optional[str] = None, *, wait: Optional[float] = None,
                       **kwargs: Any) -> Session:
        """``POST /v1/sessions``. Without ``wait`` it returns at once (the session is usually
        still ``queued`` or ``starting``); with ``wait`` (seconds, at most 300) the server answers
        when the session has ended — with its output in ``.stdout``, ``.json``, … — or after
        ``wait`` seconds as it stands. Other keyword arguments as for :func:`session_request`."""
        query = None
        timeout = None
        if wait is not None:
            query = {"wait": _wait_seconds(wait)}
            timeout = max(self._t.timeout, query["wait"] + 30.0)
        _, body = self._t.request("POST", "/v1/sessions", session_request(code, **kwargs),
                                  query=query, timeout=timeout)
        return Session.from_json(body, self)

    def run(self, code: str, *, timeout: Optional[float] = None, **kwargs: Any) -> Session:
        """Run ``code`` as a batch session, wait until it ends, and return it with its output
        (``.json``, ``.stdout``, ``.stderr``, ``.exit_code``, ``.phase``, ``.kill_reason``).

        One synchronous call (``POST /v1/sessions?wait=S``): the server answers when the
        session has ended, so no polling interval adds to the result. ``timeout`` bounds the
        wait (default: the session's wall-clock limit plus 120 s for queueing); on expiry
        :class:`EnclaveTimeout` is raised and the session keeps running.
        """
        if timeout is None:
            wall = _requested_wall_clock(kwargs.get("limits"))
            timeout = float(wall or 30) + 120.0
        deadline = time.monotonic() + timeout
        s = self.create_session(code, wait=min(timeout, MAX_WAIT_SECONDS), **kwargs)
        s._wait_ended(deadline)
        return s

    def _wait_json(self, session_id: str, wait: float) -> Dict[str, Any]:
        """``GET /v1/sessions/{id}/result?wait=S``: the session with its ``result``, answered
        when it has ended or after ``wait`` seconds."""
        w = _wait_seconds(wait)
        _, body = self._t.request("GET", f"/v1/sessions/{_q(session_id)}/result",
                                  query={"wait": w}, timeout=max(self._t.timeout, w + 30.0))
        return body

    def session(self, setup_code: Optional[str] = None, *, timeout: float = 120.0,
                **kwargs: Any) -> Session:
        """Open an interactive session and wait until it runs. Use as a context manager::

            with client.session() as s:
                s.exec("x = 41")
                print(s.exec("print(x + 1)").stdout)

        The session is torn down when the block exits.
        """
        kwargs.setdefault("exec_mode", "interactive")
        s = self.create_session(setup_code, **kwargs)
        try:
            s.wait(timeout, until="running")
        except BaseException:
            try:
                s.teardown()
            except EnclaveError:
                pass
            raise
        return s

    def get_session(self, session_id: str) -> Session:
        return Session.from_json(self._get_session_json(session_id), self)

    def _get_session_json(self, session_id: str) -> Dict[str, Any]:
        _, body = self._t.request("GET", f"/v1/sessions/{_q(session_id)}")
        return body

    def list_sessions(self, *, fleet_id: Optional[str] = None, phase: Optional[str] = None,
                      limit: Optional[int] = None, cursor: Optional[str] = None) -> SessionPage:
        _, body = self._t.request("GET", "/v1/sessions", query={
            "fleetId": fleet_id, "phase": phase, "limit": limit, "cursor": cursor})
        return SessionPage(sessions=[Session.from_json(j, self) for j in body.get("sessions", [])],
                           next_cursor=body.get("nextCursor") or None)

    def iter_sessions(self, *, fleet_id: Optional[str] = None, phase: Optional[str] = None,
                      page_size: int = 100, max_pages: int = 1000) -> Iterator[Session]:
        """Every session of the org matching the filters, following ``nextCursor``."""
        cursor: Optional[str] = None
        for _ in range(max_pages):
            page = self.list_sessions(fleet_id=fleet_id, phase=phase, limit=page_size,
                                      cursor=cursor)
            yield from page.sessions
            if not page.next_cursor or page.next_cursor == cursor:
                return
            cursor = page.next_cursor

    def get_result(self, session_id: str) -> RunResult:
        _, body = self._t.request("GET", f"/v1/sessions/{_q(session_id)}/result")
        return RunResult.from_json(body)

    def exec(self, session_id: str, code: str, *, timeout_ms: Optional[int] = None) -> TurnResult:
        """One turn in an interactive session. The HTTP wait is the turn timeout plus 30 s."""
        body: Dict[str, Any] = {"code": code}
        if timeout_ms is not None:
            body["timeoutMs"] = timeout_ms
        http_timeout = max(self._t.timeout, (timeout_ms or 30000) / 1000.0 + 30.0)
        _, ans = self._t.request("POST", f"/v1/sessions/{_q(session_id)}/exec", body,
                                 timeout=http_timeout)
        return TurnResult.from_json(ans)

    def audit(self, session_id: str) -> List[AuditEvent]:
        _, body = self._t.request("GET", f"/v1/sessions/{_q(session_id)}/audit")
        return [AuditEvent.from_json(e) for e in (body or {}).get("events", [])]

    def stream(self, session_id: str, *, timeout: float = 300.0,
               read_timeout: Optional[float] = None) -> Iterator[StreamEvent]:
        """Iterate ``GET /v1/sessions/{id}/events``: :class:`StreamEvent` objects (``audit``,
        ``output``, and a final ``end``) until the server closes the stream.

        ``timeout`` bounds the whole stream; ``read_timeout`` (default: ``timeout``) bounds
        silence between events. Either raises :class:`EnclaveTimeout`. The server sends no
        keep-alives, so a quiet interactive session is silent until its next turn.
        """
        rt = timeout if read_timeout is None else min(read_timeout, timeout)
        for event, data in self._t.sse(f"/v1/sessions/{_q(session_id)}/events", rt, timeout):
            yield StreamEvent(event=event, data=decode_stream_data(data))
            if event == "end":
                return

    def teardown(self, session_id: str) -> Session:
        """``DELETE /v1/sessions/{id}`` (idempotent)."""
        return Session.from_json(self._teardown_json(session_id), self)

    def _teardown_json(self, session_id: str) -> Dict[str, Any]:
        _, body = self._t.request("DELETE", f"/v1/sessions/{_q(session_id)}")
        return body

    # -- fleets ---------------------------------------------------------------------------------
    def create_fleet(self, members: Iterable[Union[str, Mapping[str, Any]]], *,
                     name: Optional[str] = None) -> Fleet:
        """``POST /v1/fleets``. Each member is a CreateSessionRequest dict (API spelling, e.g.
        from :func:`session_request`) or just a code string."""
        ms: List[Dict[str, Any]] = []
        for m in members:
            ms.append(session_request(m) if isinstance(m, str) else dict(m))
        body: Dict[str, Any] = {"members": ms}
        if name is not None:
            body["name"] = name
        _, ans = self._t.request("POST", "/v1/fleets", body)
        return Fleet.from_json(ans, self)

    def get_fleet(self, fleet_id: str) -> Fleet:
        return Fleet.from_json(self._get_fleet_json(fleet_id), self)

    def _get_fleet_json(self, fleet_id: str) -> Dict[str, Any]:
        _, body = self._t.request("GET", f"/v1/fleets/{_q(fleet_id)}")
        return body

    def list_fleets(self) -> List[Fleet]:
        _, body = self._t.request("GET", "/v1/fleets")
        return [Fleet.from_json(f, self) for f in (body or {}).get("fleets", [])]

    def teardown_fleet(self, fleet_id: str) -> Fleet:
        return Fleet.from_json(self._teardown_fleet_json(fleet_id), self)

    def _teardown_fleet_json(self, fleet_id: str) -> Dict[str, Any]:
        _, body = self._t.request("DELETE", f"/v1/fleets/{_q(fleet_id)}")
        return body
