# expect: {"phase": ["succeeded"], "stdout": "contained", "notStdout": "ESCAPED"}
# gVisor lets an unprivileged process mknod a device node in /tmp (docs/SECURITY.md). No host
# device is behind such a node: opening one with a host device's numbers fails (ENXIO), so it
# never yields or takes data. (Numbers of devices gVisor itself implements — null, zero, random,
# tty … — open gVisor's own in-sandbox versions, the same ones /dev already offers.)
import errno, os, stat

host_devices = [("mem", stat.S_IFCHR, 1, 1), ("kmem", stat.S_IFCHR, 1, 2),
                ("port", stat.S_IFCHR, 1, 4), ("kmsg", stat.S_IFCHR, 1, 11),
                ("kvm", stat.S_IFCHR, 10, 232), ("fb0", stat.S_IFCHR, 29, 0),
                ("card0", stat.S_IFCHR, 226, 0), ("sda", stat.S_IFBLK, 8, 0),
                ("loop0", stat.S_IFBLK, 7, 0), ("nvme0n1", stat.S_IFBLK, 259, 0)]
seen = []
for name, kind, major, minor in host_devices:
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
                if data:
                    print("ESCAPED: read", len(data), "bytes from host device", name)
                else:
                    seen.append(f"{name}:empty")
            else:
                n = os.write(fd, b"enclave\n")
                print("ESCAPED: wrote", n, "bytes to host device", name)
        except OSError as e:
            seen.append(f"{name}:io={errno.errorcode.get(e.errno, e.errno)}")
        finally:
            os.close(fd)
print("contained", " ".join(seen))
