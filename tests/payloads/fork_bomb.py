# expect: {"phase": ["killed", "failed"], "limits": {"wallClockSeconds": 4, "pids": 32}}
# A fork bomb: contained by RLIMIT_NPROC inside and the host pids backstop; ends at the wall clock.
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
