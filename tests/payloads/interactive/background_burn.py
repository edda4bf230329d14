# expect: {"phase": ["killed"], "killReason": ["turn_budget_exceeded"], "budgetMs": 3000}
# No forgery: a 1 ms turn starts a thread that burns CPU between turns (20 s of wall time, past the session's
# 3,000 ms cumulative budget), then leaves ESCAPED in /tmp for the next turn to print. Contained
# when the host's CPU meter, sampled between turns too, kills the session first.
import threading
import time


def burn():
    end = time.monotonic() + 20
    while time.monotonic() < end:
        pass
    with open("/tmp/escaped", "w") as f:
        f.write("ESCAPED")


threading.Thread(target=burn, daemon=True).start()
