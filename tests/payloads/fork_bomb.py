# expect: {"phase": ["killed"], "killReason": ["wall_clock_exceeded"], "limits": {"wallClockSeconds": 4, "pids": 32}}
# A fork bomb: contained by RLIMIT_NPROC inside and the host pids backstop; ends at the wall clock.
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
