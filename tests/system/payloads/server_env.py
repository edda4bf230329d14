# expect: {"phase": ["succeeded"], "stdout": "done", "notStdout": "hostile-marker-"}
# The server's environment (here carrying a marker and ENCLAVE_* settings) is not the sandbox's.
import os
print(sorted(os.environ))
for k, v in os.environ.items():
    print(k, v)
try:
    print(open("/proc/1/environ", "rb").read().decode(errors="replace"))
except Exception as e:
    print("no /proc/1/environ:", e)
print("done")
