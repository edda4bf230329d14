# expect: {"phase": ["succeeded"], "stdout": "done", "notStdout": "WROTE"}
for p in ["/x", "/etc/x", "/usr/x", "/usr/bin/python3", "/opt/enclave/runner.py", "/proc/sys/kernel/x"]:
    try:
        with open(p, "ab") as f:
            f.write(b"pwned")
        print("WROTE", p)
    except Exception as e:
        print("denied", p, type(e).__name__)
print("done")
