# expect: {"phase": ["succeeded"], "stdout": "done", "notStdout": "READ"}
import os
links = {"/tmp/s1": "/etc/shadow", "/tmp/s2": "/proc/1/root/etc/shadow",
         "/tmp/s3": "/proc/self/root/../../etc/shadow", "/tmp/s4": "../../../../etc/shadow"}
for link, target in links.items():
    try:
        os.symlink(target, link)
        data = open(link, "rb").read(100)
        if b"root:" in data:
            print("READ via", link)
    except Exception as e:
        print("no", link, type(e).__name__)
print("done")
