# expect: {"phase": ["killed"], "killReason": ["turn_budget_exceeded"], "budgetMs": 3000}
# Forges the runner's "done" frame for its own turn (the reply ends at once, metered ~1 ms), then
# busy-loops for 150 s of wall time — far past the session's 3,000 ms cumulative budget however
# busy the host is — and leaves ESCAPED in /tmp for a next turn to print. Contained when the
# host's CPU meter kills the session first.
import sys
import time

g = enclave.result.__globals__
turn = int(sys._getframe().f_code.co_filename.split()[1].rstrip(">"))
g["_send"](b"D", "%d 0 1" % turn)  # forged: exit code 0, "1 ms"
end = time.monotonic() + 150  # wall: CPU time read inside gVisor is not the host's
while time.monotonic() < end:
    pass
with open("/tmp/escaped", "w") as f:
    f.write("ESCAPED")
