# expect: {"phase": ["succeeded"], "exitCode": 0, "stdout": "started 63\n", "limits": {"pids": 64, "wallClockSeconds": 10}}
# Thousands of threads: refused past the process limit (pids 64 = the main thread + 63), the
# sandbox stays contained and ends normally.
import threading, time
started = 0
def idle():
    time.sleep(2)
try:
    for i in range(5000):
        threading.Thread(target=idle, daemon=True).start()
        started += 1
except RuntimeError as e:
    print("refused after", started, "threads:", e)
print("started", started)
