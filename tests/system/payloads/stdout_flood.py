# expect: {"phase": ["succeeded"], "truncatedStdout": true}
import sys
chunk = "y" * (1 << 20) + "\n"
for _ in range(100):
    sys.stdout.write(chunk)
