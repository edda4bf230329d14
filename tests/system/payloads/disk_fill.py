# expect: {"phase": ["succeeded"], "stdout": "disk full", "limits": {"diskMb": 16}}
# /tmp is a tmpfs of limits.diskMb: writing stops there.
written = 0
try:
    with open("/tmp/fill", "wb") as f:
        while written < (1 << 30):
            f.write(b"x" * (1 << 20))
            f.flush()
            written += 1 << 20
    print("wrote 1 GiB?!")
except OSError as e:
    print(f"disk full after {written >> 20} MiB: {e.strerror}")
    assert written <= 17 << 20
