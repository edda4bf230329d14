# expect: {"phase": ["succeeded"], "truncatedStderr": true}
import sys
chunk = "e" * (1 << 20) + "\n"
for _ in range(100):
    sys.stderr.write(chunk)
