"""API keys: 401 without a key, scopes, and tenancy (another org's session is 404)."""
from __future__ import annotations

import unittest

from enclave import Client, EnclaveError, Forbidden, NotFound, Unauthorized

from .server import Server

SERVER: Server
KEYS = {}


def setUpModule() -> None:
    global SERVER
    SERVER = Server(auth=True)
    KEYS["acme"] = SERVER.create_key("acme", "owner")
    KEYS["viewer"] = SERVER.create_key("acme", "viewer")
    KEYS["beta"] = SERVER.create_key("beta", "owner")
    SERVER.start()


def tearDownModule() -> None:
    SERVER.stop()


class AuthTest(unittest.TestCase):
    def test_no_key_is_401(self) -> None:
        c = Client(SERVER.base_url, api_key="")
        self.assertEqual(c.healthz()["status"], "ok")  # healthz needs no auth
        with self.assertRaises(Unauthorized) as cm:
            c.run("enclave.result(1)")
        self.assertEqual(cm.exception.status, 401)
        self.assertTrue(cm.exception.code)

    def test_bad_key_is_401(self) -> None:
        with self.assertRaises(Unauthorized):
            Client(SERVER.base_url, api_key="enc_" + "0" * 48).list_sessions()

    def test_key_works_and_tenancy(self) -> None:
        acme = Client(SERVER.base_url, api_key=KEYS["acme"])
        r = acme.run("enclave.result({'org': 'acme'})")
        self.assertEqual(r.json, {"org": "acme"})
        self.assertEqual(r.org_id, "acme")
        beta = Client(SERVER.base_url, api_key=KEYS["beta"])
        with self.assertRaises(NotFound) as cm:
            beta.get_session(r.id)
        self.assertEqual(cm.exception.status, 404)
        self.assertNotIn(r.id, [s.id for s in beta.iter_sessions()])
        with self.assertRaises(NotFound):
            beta.exec(r.id, "print(1)")
        f = acme.create_fleet(["enclave.result(1)"])
        with self.assertRaises(NotFound):
            beta.get_fleet(f.id)
        with self.assertRaises(NotFound):
            beta.teardown_fleet(f.id)
        self.assertNotIn(f.id, [x.id for x in beta.list_fleets()])
        self.assertEqual(acme.get_fleet(f.id).id, f.id)

    def test_viewer_cannot_write(self) -> None:
        viewer = Client(SERVER.base_url, api_key=KEYS["viewer"])
        viewer.list_sessions()
        with self.assertRaises(EnclaveError) as cm:
            viewer.create_session("enclave.result(1)")
        self.assertIsInstance(cm.exception, Forbidden, repr(cm.exception))
        self.assertEqual(cm.exception.status, 403)


if __name__ == "__main__":
    unittest.main()
