"""The two reference scenarios (sdk/python/examples) as integration tests."""
from __future__ import annotations

import os
import sys
import unittest

from .server import Server

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
import fleets_at_scale  # type: ignore  # noqa: E402
import interactive_session  # type: ignore  # noqa: E402

from enclave import Client  # noqa: E402

IDLE_TTL = 2
SERVER: Server


def setUpModule() -> None:
    global SERVER
    SERVER = Server(env={"ENCLAVE_INTERACTIVE_IDLE_TTL": str(IDLE_TTL)}).start()


def tearDownModule() -> None:
    SERVER.stop()


def _quiet(*_a: object) -> None:
    pass


class ExamplesTest(unittest.TestCase):
    def test_fleets_at_scale(self) -> None:
        ok, checks, outcome = fleets_at_scale.run(Client(SERVER.base_url), 9, 120, log=_quiet)
        self.assertTrue(ok, checks)
        self.assertEqual(outcome["aggregate"], 213)
        self.assertEqual(outcome["fleetPhase"], "partial")

    def test_interactive_session(self) -> None:
        ok, checks, outcome = interactive_session.run(Client(SERVER.base_url), IDLE_TTL,
                                                      log=_quiet)
        self.assertTrue(ok, checks)
        self.assertEqual(outcome["killReason"], "idle_timeout")

    def test_example_main_cli(self) -> None:
        """The example's command-line entry (env-configured Client, exit status, summary)."""
        import contextlib
        import io
        old = os.environ.get("ENCLAVE_BASE_URL")
        os.environ["ENCLAVE_BASE_URL"] = SERVER.base_url
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                rc = fleets_at_scale.main(["--shards", "3", "--timeout", "60"])
        finally:
            if old is None:
                os.environ.pop("ENCLAVE_BASE_URL", None)
            else:
                os.environ["ENCLAVE_BASE_URL"] = old
        self.assertEqual(rc, 0, buf.getvalue())
        self.assertIn("3/3 checks passed", buf.getvalue())


if __name__ == "__main__":
    unittest.main()
