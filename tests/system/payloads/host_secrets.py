# expect: {"phase": ["succeeded"], "stdout": "done", "notStdout": "READ"}
import os
targets = ["/etc/shadow", "/etc/passwd", "/root/.bash_history", "/proc/1/environ",
           os.environ.get("DATA_DIR", "/nonexistent") + "/CURRENT",
           os.environ.get("DATA_DIR", "/nonexistent") + "/cred_secret", "/srv", "/home"]
for p in targets:
    try:
        with open(p, "rb") as f:
            data = f.read(200)
        if b"root:" in data and p == "/etc/shadow" or p.endswith(("CURRENT", "cred_secret")):
            print("READ", p)
    except Exception:
        pass
print("visible roots:", sorted(os.listdir("/")))
print("done")
