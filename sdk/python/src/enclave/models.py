"""Typed views of the Enclave API's JSON objects, with the methods that act on them."""
from __future__ import annotations

import json as _json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional

from .errors import EnclaveTimeout

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

SESSION_TERMINAL = ("succeeded", "failed", "killed")
FLEET_TERMINAL = ("completed", "partial", "failed")


def _sleep_backoff(delay: float, deadline: float) -> float:
    """Sleep for `delay` (never past `deadline`) and return the next, longer delay."""
    time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
    return min(delay * 1.5, 1.0)


@dataclass
class Egress:
    mode: str = "deny_all"
    allow: List[str] = field(default_factory=list)
    kill_on_denied: bool = False

    @classmethod
    def from_json(cls, j: Optional[Dict[str, Any]]) -> "Egress":
        j = j or {}
        return cls(mode=j.get("mode", "deny_all"), allow=list(j.get("allow") or []),
                   kill_on_denied=bool(j.get("killOnDenied", False)))

    def to_json(self) -> Dict[str, Any]:
        return {"mode": self.mode, "allow": list(self.allow), "killOnDenied": self.kill_on_denied}


@dataclass
class Limits:
    memory_mb: Optional[int] = None
    cpu_millis: Optional[int] = None
    pids: Optional[int] = None
    wall_clock_seconds: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    _KEYS = (("memory_mb", "memoryMb"), ("cpu_millis", "cpuMillis"), ("pids", "pids"),
             ("wall_clock_seconds", "wallClockSeconds"))

    @classmethod
    def from_json(cls, j: Optional[Dict[str, Any]]) -> "Limits":
        j = dict(j or {})
        kw = {py: j.pop(api, None) for py, api in cls._KEYS}
        return cls(extra=j, **kw)

    def to_json(self) -> Dict[str, Any]:
        out = dict(self.extra)
        for py, api in self._KEYS:
            v = getattr(self, py)
            if v is not None:
                out[api] = v
        return out


@dataclass
class AuditEvent:
    seq: int
    type: str
    message: str
    data: Dict[str, Any]
    at: str
    hash: str
    prev_hash: str

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "AuditEvent":
        return cls(seq=int(j.get("seq", 0)), type=str(j.get("type", "")),
                   message=str(j.get("message", "")), data=dict(j.get("data") or {}),
                   at=str(j.get("at", "")), hash=str(j.get("hash", "")),
                   prev_hash=str(j.get("prevHash", "")))


@dataclass
class StreamEvent:
    """One Server-Sent Event from ``GET /v1/sessions/{id}/events``.

    ``event`` is ``"audit"``, ``"output"`` or ``"end"``; ``data`` is the decoded JSON payload.
    For audit events ``audit`` is the typed :class:`AuditEvent`.
    """
    event: str
    data: Any

    @property
    def audit(self) -> Optional[AuditEvent]:
        if self.event == "audit" and isinstance(self.data, dict):
            return AuditEvent.from_json(self.data)
        return None


@dataclass
class RichResult:
    """One rich result of an interactive turn: a trailing expression's value, ``display()``
    output or a matplotlib figure. ``data`` is text, except for ``image/png`` (base64 on the
    wire): :attr:`png` gives its bytes."""
    type: str  # "text/plain" | "text/html" | "image/png" | "application/json"
    data: str
    is_main_result: bool = False

    @property
    def png(self) -> Optional[bytes]:
        """The PNG's bytes when this is an ``image/png`` result, else None."""
        if self.type != "image/png":
            return None
        import base64
        return base64.b64decode(self.data)

    @property
    def text(self) -> Optional[str]:
        return self.data if self.type == "text/plain" else None

    @property
    def html(self) -> Optional[str]:
        return self.data if self.type == "text/html" else None

    def save(self, path: str) -> None:
        """Writes the result to ``path`` (the PNG's bytes, or the text as UTF-8)."""
        with open(path, "wb") as f:
            f.write(self.png if self.type == "image/png" else self.data.encode("utf-8"))

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "RichResult":
        return cls(type=str(j.get("type", "")), data=str(j.get("data", "")),
                   is_main_result=bool(j.get("isMainResult", False)))


@dataclass
class TurnResult:
    """The answer to one interactive turn (``POST /v1/sessions/{id}/exec``)."""
    turn: int
    stdout: str
    stderr: str
    exit_code: Optional[int]
    json: Any = None
    duration_ms: int = 0
    # Rich results in the order the turn made them (Python: figures, display(), the value).
    results: List[RichResult] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def result(self) -> Any:
        return self.json

    @property
    def main_result(self) -> Optional[RichResult]:
        """The trailing expression's value as text/plain, if the turn had one."""
        for r in self.results:
            if r.is_main_result and r.type == "text/plain":
                return r
        return None

    @property
    def pngs(self) -> List[bytes]:
        """Every image/png result's bytes (e.g. each matplotlib figure of the turn)."""
        return [b for b in (r.png for r in self.results) if b is not None]

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "TurnResult":
        results = j.get("results") if isinstance(j.get("results"), list) else []
        return cls(turn=int(j.get("turn", 0)), stdout=str(j.get("stdout", "")),
                   stderr=str(j.get("stderr", "")), exit_code=j.get("exitCode"),
                   json=j.get("json"), duration_ms=int(j.get("durationMs", 0) or 0),
                   results=[RichResult.from_json(r) for r in results if isinstance(r, dict)],
                   raw=j)


@dataclass
class RunResult:
    """``GET /v1/sessions/{id}/result``."""
    stdout: str
    stderr: str
    exit_code: Optional[int]
    json: Any
    final: bool
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "RunResult":
        t = j.get("truncated") or {}
        return cls(stdout=str(j.get("stdout", "")), stderr=str(j.get("stderr", "")),
                   exit_code=j.get("exitCode"), json=j.get("json"), final=bool(j.get("final")),
                   stdout_truncated=bool(t.get("stdout")), stderr_truncated=bool(t.get("stderr")),
                   raw=j)


@dataclass(repr=False)
class Session:
    """A sandbox session. Returned by :meth:`Client.run` (already finished, with its output),
    :meth:`Client.session` (interactive, running) and :meth:`Client.get_session`.

    Also a context manager: leaving the ``with`` block tears the session down.
    """
    id: str
    org_id: str = ""
    created_by: str = ""
    phase: str = ""
    exec_mode: str = "batch"
    language: str = "python"
    egress: Egress = field(default_factory=Egress)
    limits: Limits = field(default_factory=Limits)
    created_at: str = ""
    turns: int = 0
    torn_down: bool = False
    fleet_id: Optional[str] = None
    name: Optional[str] = None
    started_at: Optional[str] = None
    ended_at: Optional[str] = None
    exit_code: Optional[int] = None
    kill_reason: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict)
    #: output, filled in by :meth:`Client.run` / :meth:`fetch_result`
    result_view: Optional[RunResult] = None
    _client: Optional["Client"] = field(default=None, compare=False)

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_json(cls, j: Dict[str, Any], client: Optional["Client"] = None) -> "Session":
        s = cls(id=str(j.get("id", "")), _client=client)
        s._update(j)
        return s

    def _update(self, j: Dict[str, Any]) -> None:
        self.raw = j
        self.org_id = str(j.get("orgId", ""))
        self.created_by = str(j.get("createdBy", ""))
        self.phase = str(j.get("phase", ""))
        self.exec_mode = str(j.get("execMode", "batch"))
        self.language = str(j.get("language", "python"))
        self.egress = Egress.from_json(j.get("egress"))
        self.limits = Limits.from_json(j.get("limits"))
        self.created_at = str(j.get("createdAt", ""))
        self.turns = int(j.get("turns", 0) or 0)
        self.torn_down = bool(j.get("tornDown", False))
        self.fleet_id = j.get("fleetId") or None
        self.name = j.get("name") or None
        self.started_at = j.get("startedAt") or None
        self.ended_at = j.get("endedAt") or None
        self.exit_code = j.get("exitCode")
        self.kill_reason = j.get("killReason") or None
        if isinstance(j.get("result"), dict):  # a `?wait=S` answer carries the output too
            self.result_view = RunResult.from_json(j["result"])

    # -- output ---------------------------------------------------------------------------------
    @property
    def json(self) -> Any:
        """The value the workload passed to ``enclave.result()`` (None if none or not fetched)."""
        return self.result_view.json if self.result_view else None

    @property
    def result(self) -> Any:
        """Alias of :attr:`json`."""
        return self.json

    @property
    def stdout(self) -> str:
        return self.result_view.stdout if self.result_view else ""

    @property
    def stderr(self) -> str:
        return self.result_view.stderr if self.result_view else ""

    @property
    def terminal(self) -> bool:
        return self.phase in SESSION_TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.phase == "succeeded"

    def __repr__(self) -> str:
        parts = [f"id={self.id!r}", f"phase={self.phase!r}"]
        if self.exit_code is not None:
            parts.append(f"exit_code={self.exit_code!r}")
        if self.kill_reason:
            parts.append(f"kill_reason={self.kill_reason!r}")
        if self.exec_mode != "batch":
            parts.append(f"exec_mode={self.exec_mode!r}, turns={self.turns}")
        if self.result_view is not None:
            parts.append(f"json={self.json!r}")
            if self.stdout:
                parts.append(f"stdout={self.stdout[:80]!r}")
        return f"Session({', '.join(parts)})"

    # -- actions --------------------------------------------------------------------------------
    def _c(self) -> "Client":
        if self._client is None:
            raise RuntimeError("this Session is not bound to a Client")
        return self._client

    def refresh(self) -> "Session":
        """Re-read the session (``GET /v1/sessions/{id}``)."""
        self._update(self._c()._get_session_json(self.id))
        return self

    def wait(self, timeout: float = 120.0, *, until: str = "terminal",
             poll_interval: float = 0.05) -> "Session":
        """Wait until the session is terminal (``until="terminal"``: one server-side wait,
        ``GET …/result?wait=S``, which also fills in its output), running or ended
        (``"running"``) or torn down (``"torn_down"``; these two poll). Raises
        :class:`EnclaveTimeout`."""
        deadline = time.monotonic() + timeout
        if until == "terminal":
            return self._wait_ended(deadline)
        delay = poll_interval
        while True:
            self.refresh()
            if until == "terminal" and self.terminal:
                return self
            if until == "running" and (self.phase == "running" or self.terminal):
                return self
            if until == "torn_down" and self.torn_down:
                return self
            if time.monotonic() >= deadline:
                raise EnclaveTimeout(f"session {self.id} still {self.phase} after {timeout} s "
                                     f"(waiting for {until})", code="timeout")
            delay = _sleep_backoff(delay, deadline)

    def _wait_ended(self, deadline: float) -> "Session":
        """Ask the server to answer when the session has ended with its whole output (its
        result ``final``), in waits of at most 300 s, until ``deadline`` (monotonic)."""
        while not (self.terminal and self.result_view is not None and self.result_view.final):
            left = deadline - time.monotonic()
            if left <= 0:
                raise EnclaveTimeout(f"session {self.id} still {self.phase} when its wait ended",
                                     code="timeout")
            self._update(self._c()._wait_json(self.id, left))
        return self

    def fetch_result(self) -> RunResult:
        """Read stdout/stderr/exit code/``enclave.result`` value (``GET …/result``)."""
        self.result_view = self._c().get_result(self.id)
        return self.result_view

    def exec(self, code: str, *, timeout_ms: Optional[int] = None) -> TurnResult:
        """Run one turn in this interactive session. Raises :class:`Conflict` once it ended."""
        return self._c().exec(self.id, code, timeout_ms=timeout_ms)

    def audit(self) -> List[AuditEvent]:
        return self._c().audit(self.id)

    def stream(self, *, timeout: float = 300.0,
               read_timeout: Optional[float] = None) -> Iterator[StreamEvent]:
        """Iterate the session's live events (audit, output, end) until it is terminal."""
        return self._c().stream(self.id, timeout=timeout, read_timeout=read_timeout)

    def teardown(self) -> "Session":
        """``DELETE /v1/sessions/{id}``: end the session and remove its sandbox (idempotent)."""
        self._update(self._c()._teardown_json(self.id))
        return self

    close = teardown

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.teardown()
        except Exception:
            if exc[0] is None:
                raise


@dataclass
class FleetCounts:
    queued: int = 0
    starting: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    killed: int = 0

    @classmethod
    def from_json(cls, j: Optional[Dict[str, Any]]) -> "FleetCounts":
        j = j or {}
        return cls(**{k: int(j.get(k, 0) or 0) for k in
                      ("queued", "starting", "running", "succeeded", "failed", "killed")})


@dataclass
class FleetMember:
    index: int
    session_id: str
    phase: str
    _client: Optional["Client"] = field(default=None, repr=False, compare=False)

    def session(self) -> Session:
        """Fetch this member's full session view."""
        if self._client is None:
            raise RuntimeError("this FleetMember is not bound to a Client")
        return self._client.get_session(self.session_id)


@dataclass
class Fleet:
    id: str
    org_id: str = ""
    created_by: str = ""
    name: str = ""
    phase: str = ""
    created_at: str = ""
    counts: FleetCounts = field(default_factory=FleetCounts)
    members: List[FleetMember] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    _client: Optional["Client"] = field(default=None, repr=False, compare=False)

    @classmethod
    def from_json(cls, j: Dict[str, Any], client: Optional["Client"] = None) -> "Fleet":
        f = cls(id=str(j.get("id", "")), _client=client)
        f._update(j)
        return f

    def _update(self, j: Dict[str, Any]) -> None:
        self.raw = j
        self.org_id = str(j.get("orgId", ""))
        self.created_by = str(j.get("createdBy", ""))
        self.name = str(j.get("name", "") or "")
        self.phase = str(j.get("phase", ""))
        self.created_at = str(j.get("createdAt", ""))
        self.counts = FleetCounts.from_json(j.get("counts"))
        self.members = [FleetMember(index=int(m.get("index", i)),
                                    session_id=str(m.get("sessionId", "")),
                                    phase=str(m.get("phase", "")), _client=self._client)
                        for i, m in enumerate(j.get("members") or [])]

    @property
    def terminal(self) -> bool:
        return self.phase in FLEET_TERMINAL

    def _c(self) -> "Client":
        if self._client is None:
            raise RuntimeError("this Fleet is not bound to a Client")
        return self._client

    def refresh(self) -> "Fleet":
        self._update(self._c()._get_fleet_json(self.id))
        return self

    def wait(self, timeout: float = 600.0, *, poll_interval: float = 0.1) -> "Fleet":
        """Poll until the fleet is ``completed``, ``partial`` or ``failed``."""
        deadline = time.monotonic() + timeout
        delay = poll_interval
        while True:
            self.refresh()
            if self.terminal:
                return self
            if time.monotonic() >= deadline:
                raise EnclaveTimeout(f"fleet {self.id} still {self.phase} after {timeout} s",
                                     code="timeout")
            delay = _sleep_backoff(delay, deadline)

    def sessions(self, *, with_results: bool = False) -> List[Session]:
        """Full session views of every member, in index order (optionally with their output)."""
        out = []
        for m in sorted(self.members, key=lambda m: m.index):
            s = self._c().get_session(m.session_id)
            if with_results:
                s.fetch_result()
            out.append(s)
        return out

    def teardown(self) -> "Fleet":
        """``DELETE /v1/fleets/{id}``: tear down every member."""
        self._update(self._c()._teardown_fleet_json(self.id))
        return self


@dataclass
class SessionPage:
    sessions: List[Session]
    next_cursor: Optional[str]


def decode_stream_data(text: str) -> Any:
    try:
        return _json.loads(text)
    except ValueError:
        return text
