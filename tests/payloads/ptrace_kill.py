# expect: {"phase": ["succeeded", "failed", "killed"]}
# Signals and ptrace reach only this sandbox's own processes (the sibling must be unaffected).
import ctypes, os, signal
for pid in (1, -1):
    try:
        os.kill(pid, signal.SIGKILL if pid == -1 else signal.SIGTERM)
        print("signalled", pid)
    except Exception as e:
        print("kill", pid, "failed:", e)
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH = 16
print("ptrace(1) =", libc.ptrace(PTRACE_ATTACH, 1, 0, 0), "errno", ctypes.get_errno())
print("done")
