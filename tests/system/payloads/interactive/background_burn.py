# expect: {"phase": ["killed"], "killReason": ["turn_budget_exceeded"], "budgetMs": 3000}
# No forgery: a turn of a few ms starts a thread that burns CPU between turns (150 s of wall time,
# far past the session's 3,000 ms cumulative budget however busy the host is), then leaves
# ESCAPED in /tmp for a next turn to print. Contained when the host's CPU meter, sampled between
# turns too, kills the session first.
import threading
import time


def burn():
    end = time.monotonic() + 150
    while time.monotonic() < end:
        pass
    with open("/tmp/escaped", "w") as f:
        f.write("ESCAPED")


threading.Thread(target=burn, daemon=True).start()
