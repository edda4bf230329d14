# expect: {"phase": ["killed"], "killReason": ["wall_clock_exceeded"], "limits": {"wallClockSeconds": 2}, "killedWithinSecondsOfLimit": 1}
while True:
    pass
