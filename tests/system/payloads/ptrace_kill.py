# expect: {"phase": ["failed"], "exitCode": 143, "stdout": "kill(-1) reached no one", "notStdout": "ESCAPED"}
# Signals and ptrace reach only this sandbox's own processes (the sibling must be unaffected):
# ptrace of pid 1 is refused, kill(-1) finds nobody to kill, and the SIGTERM to pid 1 — this
# sandbox's own runner, the workload itself — ends only this session (exit 128 + 15).
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH = 16
r = libc.ptrace(PTRACE_ATTACH, 1, 0, 0)
print("ptrace(1) =", r, "errno", ctypes.get_errno(), "pid", os.getpid(), flush=True)
if r == 0:
    print("ESCAPED: attached to pid 1", flush=True)
try:
    os.kill(-1, signal.SIGKILL)
    print("kill(-1) reached no one", flush=True)
except Exception as e:
    print("kill(-1) reached no one:", e, flush=True)
os.kill(1, signal.SIGTERM)
print("ESCAPED: still running after SIGTERM to pid 1", flush=True)
