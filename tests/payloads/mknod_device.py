# expect: {"phase": ["succeeded"], "stdout": "contained", "notStdout": "ESCAPED"}
# gVisor lets an unprivileged process mknod a device node in /tmp (docs/SECURITY.md); no device
# is behind it: opening the node fails (ENXIO), so it never yields or takes data.
import errno, os, stat

nodes = [("mem", stat.S_IFCHR, 1, 1), ("kmsg", stat.S_IFCHR, 1, 11), ("zero", stat.S_IFCHR, 1, 5),
         ("random", stat.S_IFCHR, 1, 8), ("tty", stat.S_IFCHR, 5, 0), ("sda", stat.S_IFBLK, 8, 0),
         ("loop0", stat.S_IFBLK, 7, 0)]
seen = []
for name, kind, major, minor in nodes:
    path = f"/tmp/dev-{name}"
    try:
        os.mknod(path, kind | 0o666, os.makedev(major, minor))
    except OSError as e:
        seen.append(f"{name}:mknod={errno.errorcode.get(e.errno, e.errno)}")
        continue
    for flags in (os.O_RDONLY, os.O_WRONLY):
        try:
            fd = os.open(path, flags | os.O_NONBLOCK)
        except OSError as e:
            seen.append(f"{name}:open={errno.errorcode.get(e.errno, e.errno)}")
            continue
        try:
            if flags == os.O_RDONLY:
                data = os.read(fd, 16)
                print("ESCAPED: read", len(data), "bytes from", name) if data else seen.append(f"{name}:empty")
            else:
                n = os.write(fd, b"enclave\n")
                print("ESCAPED: wrote", n, "bytes to", name)
        except OSError as e:
            seen.append(f"{name}:io={errno.errorcode.get(e.errno, e.errno)}")
        finally:
            os.close(fd)
print("contained", " ".join(seen))
