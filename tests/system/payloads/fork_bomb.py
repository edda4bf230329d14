# expect: {"phase": ["killed"], "killReason": ["wall_clock_exceeded"], "limits": {"wallClockSeconds": 4, "pids": 32, "memoryMb": 1024}}
# A fork bomb: contained by RLIMIT_NPROC inside and the host pids backstop; ends at the wall clock
# (memory is generous so that the pids limits, not a memory kill, are what contains it).
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
