# expect: {"phase": ["succeeded"], "exitCode": 0, "stdout": "zombies 63\n", "limits": {"pids": 64, "wallClockSeconds": 8}}
# Children that exit and are never reaped: fork is refused at the process limit (pids 64 = this
# process + 63 zombies), and the sandbox ends normally.
import os, time
made = 0
for i in range(500):
    try:
        if os.fork() == 0:
            os._exit(0)
        made += 1
    except OSError:
        break
print("zombies", made)
time.sleep(1)
