# expect: {"phase": ["succeeded"], "json": {"ok": true}}
import os
os.close(1)
os.close(2)
enclave.result({"ok": True})
