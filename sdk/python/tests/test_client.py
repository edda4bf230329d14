"""Every SDK method against a live enclaved (simulator backend)."""
from __future__ import annotations

import os
import threading
import time
import unittest
from typing import List

import enclave
from enclave import (AuditEvent, BadRequest, Client, Conflict, EnclaveConnectionError,
                     EnclaveError, EnclaveTimeout, Fleet, NotFound, Session, StreamEvent,
                     TurnResult, session_request)

from .server import Server

SERVER: Server


def setUpModule() -> None:
    global SERVER
    SERVER = Server().start()


def tearDownModule() -> None:
    SERVER.stop()


class ClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.c = Client(SERVER.base_url)

    # -- construction --------------------------------------------------------------------------
    def test_env_defaults(self) -> None:
        old = dict(os.environ)
        try:
            os.environ["ENCLAVE_BASE_URL"] = SERVER.base_url
            os.environ["ENCLAVE_API_KEY"] = "enc_test"
            c = Client()
            self.assertEqual(c.base_url, SERVER.base_url)
            self.assertNotIn("enc_test", repr(c))
            self.assertEqual(c.healthz()["status"], "ok")
            os.environ.pop("ENCLAVE_BASE_URL")
            self.assertEqual(Client().base_url, enclave.DEFAULT_BASE_URL)
            self.assertEqual(Client(SERVER.base_url + "/").base_url, SERVER.base_url)
        finally:
            os.environ.clear()
            os.environ.update(old)

    def test_connection_error(self) -> None:
        with self.assertRaises(EnclaveConnectionError) as cm:
            Client("http://127.0.0.1:1", timeout=2).healthz()
        self.assertIsInstance(cm.exception, EnclaveError)

    # -- batch ---------------------------------------------------------------------------------
    def test_run_returns_result(self) -> None:
        r = self.c.run("print('hello')\nenclave.result({'v': 5})")
        self.assertIsInstance(r, Session)
        self.assertEqual(r.phase, "succeeded")
        self.assertEqual(r.exit_code, 0)
        self.assertIsNone(r.kill_reason)
        self.assertEqual(r.json, {"v": 5})
        self.assertEqual(r.result, {"v": 5})
        self.assertEqual(r.stdout, "hello\n")
        self.assertEqual(r.stderr, "")
        self.assertTrue(r.id)
        self.assertIn("5", repr(r))

    def test_run_failure_and_stderr(self) -> None:
        r = self.c.run('#@sim stderr="boom"\n#@sim exit=3\n')
        self.assertEqual(r.phase, "failed")
        self.assertEqual(r.exit_code, 3)
        self.assertIn("boom", r.stderr)
        self.assertIsNone(r.json)

    def test_run_wall_clock_kill(self) -> None:
        r = self.c.run("#@sim hang\n", limits={"wallClockSeconds": 1}, timeout=30)
        self.assertEqual(r.phase, "killed")
        self.assertEqual(r.kill_reason, "wall_clock_exceeded")

    def test_create_session_wait_is_a_synchronous_run(self) -> None:
        s = self.c.create_session("print(3)\nenclave.result([1])", wait=30)
        self.assertEqual(s.phase, "succeeded")
        self.assertEqual(s.stdout, "3\n")
        self.assertEqual(s.json, [1])
        self.assertTrue(s.result_view is not None and s.result_view.final)

    def test_a_wait_that_ends_first_answers_the_session_as_it_stands(self) -> None:
        t0 = time.monotonic()
        s = self.c.create_session("#@sim hang\n", wait=1)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertFalse(s.terminal)
        self.assertFalse(s.result_view.final if s.result_view else True)
        self.c.get_session(s.id).teardown()
        s.wait(30)  # server side: answered when it has ended
        self.assertEqual(s.phase, "killed")
        self.assertTrue(s.result_view is not None and s.result_view.final)

    def test_run_wait_is_bounded(self) -> None:
        t0 = time.monotonic()
        with self.assertRaises(EnclaveTimeout):
            self.c.run("#@sim hang\n", name="bounded", timeout=0.5)
        self.assertLess(time.monotonic() - t0, 5)
        for s in self.c.iter_sessions(phase="running"):
            if s.name == "bounded":
                s.teardown()
                self.assertEqual(s.kill_reason, "torn_down")

    def test_create_get_list_result_teardown(self) -> None:
        s = self.c.create_session('#@sim stdout="x"\n#@sim sleep_ms=200\n', name="lister",
                                  limits=enclave.Limits(memory_mb=128),
                                  egress=enclave.Egress(mode="allow_list", allow=["example.com:443"]))
        self.assertIn(s.phase, ("queued", "starting", "running"))
        self.assertEqual(s.limits.memory_mb, 128)
        self.assertEqual(s.egress.allow, ["example.com:443"])
        self.assertEqual(s.name, "lister")
        got = self.c.get_session(s.id)
        self.assertEqual(got.id, s.id)
        s.wait(30)
        self.assertEqual(s.phase, "succeeded")
        self.assertEqual(s.fetch_result().stdout, "x\n")
        self.assertTrue(self.c.get_result(s.id).final)
        ids = [x.id for x in self.c.iter_sessions(page_size=2)]
        self.assertIn(s.id, ids)
        self.assertEqual(len(ids), len(set(ids)))
        page = self.c.list_sessions(limit=1)
        self.assertEqual(len(page.sessions), 1)
        self.assertIn(s.id, [x.id for x in self.c.list_sessions(phase="succeeded", limit=1000).sessions])
        # teardown of an ended session is idempotent
        self.assertEqual(self.c.teardown(s.id).phase, "succeeded")
        h = self.c.create_session("#@sim hang\n")
        h.wait(30, until="running")
        h.teardown()
        self.assertEqual((h.phase, h.kill_reason), ("killed", "torn_down"))

    # -- errors --------------------------------------------------------------------------------
    def test_not_found(self) -> None:
        with self.assertRaises(NotFound) as cm:
            self.c.get_session("no-such-session")
        e = cm.exception
        self.assertEqual((e.status, e.code), (404, "not_found"))
        self.assertTrue(e.message)
        with self.assertRaises(NotFound):
            self.c.get_fleet("no-such-fleet")
        with self.assertRaises(NotFound):
            self.c.audit("no-such-session")
        with self.assertRaises(NotFound):
            list(self.c.stream("no-such-session", timeout=5))

    def test_bad_request_names_field(self) -> None:
        with self.assertRaises(BadRequest) as cm:
            self.c.create_session("print(1)", limits={"memoryMb": -1})
        e = cm.exception
        self.assertEqual((e.status, e.code, e.field), (400, "invalid_argument", "limits.memoryMb"))
        with self.assertRaises(BadRequest) as cm:
            self.c.create_session("print(1)", bogus=1)
        self.assertEqual(cm.exception.field, "bogus")
        with self.assertRaises(BadRequest) as cm:
            self.c.create_fleet([session_request("x", limits={"pids": 0})])
        self.assertEqual(cm.exception.field, "members[0].limits.pids")
        self.assertIn("limits.pids", str(cm.exception))

    def test_payload_too_large(self) -> None:
        with self.assertRaises(enclave.PayloadTooLarge) as cm:
            self.c.create_session("#" * (1 << 20))
        self.assertEqual(cm.exception.status, 413)
        self.assertTrue(cm.exception.code)

    def test_conflict_after_end(self) -> None:
        with self.c.session() as s:
            s.exec("x = 1")
        with self.assertRaises(Conflict) as cm:
            s.exec("x")
        e = cm.exception
        self.assertEqual((e.status, e.code), (409, "session_not_running"))

    # -- interactive ---------------------------------------------------------------------------
    def test_interactive_session_context_manager(self) -> None:
        with self.c.session(name="ctx") as s:
            self.assertEqual((s.phase, s.exec_mode), ("running", "interactive"))
            t1 = s.exec("print('a')\nenclave.result(7)")
            self.assertIsInstance(t1, TurnResult)
            self.assertEqual((t1.turn, t1.stdout, t1.exit_code, t1.json, t1.result),
                             (1, "a\n", 0, 7, 7))
            t2 = s.exec('#@sim exit=2\n', timeout_ms=5000)
            self.assertEqual((t2.turn, t2.exit_code), (2, 2))
            self.assertEqual(self.c.exec(s.id, "print('b')").turn, 3)
        self.assertTrue(s.torn_down)
        self.assertEqual((s.phase, s.kill_reason), ("killed", "torn_down"))
        self.assertEqual(s.refresh().turns, 3)

    def test_turn_timeout(self) -> None:
        # a turn that outlives timeoutMs is interrupted and answers exitCode null; the session
        # goes on; one that ignores the interrupt ends the session
        with self.c.session() as s:
            t = s.exec("#@sim hang\n", timeout_ms=300)
            self.assertIsNone(t.exit_code)
            self.assertGreaterEqual(t.duration_ms, 300)
            self.assertIn("KeyboardInterrupt", t.stderr)
            self.assertEqual(s.exec("print('b')").stdout, "b\n")
            t = s.exec("#@sim hang\n#@sim ignore_interrupt\n", timeout_ms=300)
            self.assertIsNone(t.exit_code)
            s.wait(10)
            self.assertEqual((s.phase, s.kill_reason), ("killed", "wall_clock_exceeded"))

    # -- audit and events ----------------------------------------------------------------------
    def test_audit_chain(self) -> None:
        r = self.c.run("enclave.result(1)")
        r.wait(10, until="torn_down")
        events = r.audit()
        self.assertTrue(all(isinstance(e, AuditEvent) for e in events))
        types = [e.type for e in events]
        self.assertEqual(types[0], "session_created")
        self.assertIn("workload_exited", types)
        self.assertEqual([e.seq for e in events], list(range(1, len(events) + 1)))
        self.assertEqual(events[0].prev_hash, "")
        for a, b in zip(events, events[1:]):
            self.assertEqual(b.prev_hash, a.hash)

    def test_stream_finished_session(self) -> None:
        r = self.c.run("enclave.result(1)")
        r.wait(10, until="torn_down")
        evs = list(r.stream(timeout=10))
        self.assertTrue(all(isinstance(e, StreamEvent) for e in evs))
        self.assertEqual(evs[-1].event, "end")
        self.assertEqual(evs[-1].data.get("sessionId"), r.id)
        audit_types = [e.audit.type for e in evs if e.audit]
        self.assertEqual(audit_types, [e.type for e in r.audit()])

    def test_stream_live(self) -> None:
        s = self.c.session()
        got: List[StreamEvent] = []
        errors: List[BaseException] = []

        def reader() -> None:
            try:
                for ev in s.stream(timeout=30, read_timeout=20):
                    got.append(ev)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        th = threading.Thread(target=reader, daemon=True)
        th.start()
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        s.exec("print('live')")
        s.teardown()
        th.join(20)
        self.assertFalse(th.is_alive(), "stream did not end after teardown")
        self.assertEqual(errors, [])
        outputs = [e.data for e in got if e.event == "output"]
        self.assertIn({"stream": "stdout", "data": "live\n", "turn": 1}, outputs)
        self.assertEqual(got[-1].event, "end")
        self.assertIn("session_torn_down", [e.audit.type for e in got if e.audit])

    def test_stream_waits_are_bounded(self) -> None:
        with self.c.session() as s:
            t0 = time.monotonic()
            with self.assertRaises(EnclaveTimeout) as cm:
                for _ in s.stream(timeout=30, read_timeout=0.5):
                    pass
            self.assertIn("silent", str(cm.exception))
            with self.assertRaises(EnclaveTimeout) as cm:
                for _ in s.stream(timeout=0.7):
                    pass
            self.assertIn("still open", str(cm.exception))
            self.assertLess(time.monotonic() - t0, 5)

    # -- fleets --------------------------------------------------------------------------------
    def test_fleet(self) -> None:
        f = self.c.create_fleet(["enclave.result(1)", session_request("#@sim exit=3\n")],
                                name="two")
        self.assertIsInstance(f, Fleet)
        self.assertEqual((f.name, len(f.members)), ("two", 2))
        f.wait(60)
        self.assertEqual(f.phase, "partial")
        self.assertEqual((f.counts.succeeded, f.counts.failed), (1, 1))
        self.assertEqual([m.index for m in f.members], [0, 1])
        self.assertEqual(f.members[0].session().fleet_id, f.id)
        sessions = f.sessions(with_results=True)
        self.assertEqual([s.phase for s in sessions], ["succeeded", "failed"])
        self.assertEqual(sessions[0].json, 1)
        self.assertIn(f.id, [x.id for x in self.c.list_fleets()])
        listed = self.c.list_sessions(fleet_id=f.id).sessions
        self.assertEqual(sorted(s.id for s in listed), sorted(m.session_id for m in f.members))
        self.assertEqual(self.c.get_fleet(f.id).phase, "partial")

    def test_fleet_teardown(self) -> None:
        f = self.c.create_fleet(["#@sim hang\n", "#@sim hang\n"])
        f.teardown()
        f.wait(30)
        self.assertEqual(f.phase, "failed")
        self.assertEqual(f.counts.killed, 2)
        self.assertEqual({s.kill_reason for s in f.sessions()}, {"torn_down"})


if __name__ == "__main__":
    unittest.main()
