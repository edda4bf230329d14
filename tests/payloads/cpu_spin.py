# expect: {"phase": ["killed"], "killReason": ["wall_clock_exceeded"], "limits": {"wallClockSeconds": 2}}
while True:
    pass
