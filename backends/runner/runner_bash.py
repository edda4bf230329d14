# Enclave's in-sandbox Bash runner (uid 65534 inside gVisor, read-only at /opt/enclave): Python
# drives /usr/bin/bash and speaks runner.py's protocol to the supervisor.
#   runner_bash.py batch  CAP RESULT_CAP   run /opt/enclave-io/code.sh once
#   runner_bash.py kernel CAP RESULT_CAP   one shell for every turn: cwd, variables and functions
#                                          are kept (turns are eval'd at the shell's top level)
# `enclave-result JSON` (an exported shell function, so subshells have it too) writes
# "R<len>\n<json>" to fd 3, a pipe this runner reads; the JSON is checked here and sent as the
# result (R frame). In the kernel the shell reports each turn's status on the same pipe
# ("D<status>\n"). The channel to the supervisor is connected before any workload code runs.
# A turn past its timeout: SIGINT to the shell's process group (the running command stops, the
# shell goes on with the next one; a shell loop that does not stop loses the kernel).
import _socket
import json
import os
import select
import signal
import sys
import time

IO_DIR = "/opt/enclave-io"
CAP = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 20
RESULT_CAP = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20
BASH = "/usr/bin/bash"
RESULT_FUNCTION = (
    "() { local LC_ALL=C; local __j=\"$*\"; "
    "printf 'R%d\\n%s' \"${#__j}\" \"$__j\" >&3; }"
)

# ENCLAVE_CHANNEL_FD: frames go to this inherited fd instead of channel.sock — the runner is then
# a sub-kernel of the Python kernel (E2B code contexts, http/e2b/kernel_code.cc), which relays
# them. Removed from the environment before the shell starts.
_inherited = os.environ.pop("ENCLAVE_CHANNEL_FD", "")
if _inherited.isdigit() and len(_inherited) <= 4:
    _channel_fd = int(_inherited)

    def _write(data):
        while data:
            data = data[os.write(_channel_fd, data):]
else:
    _channel = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    _channel.connect(IO_DIR + "/channel.sock")
    _write = _channel.sendall


def _send(kind, payload):
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "backslashreplace")
    _write((len(payload) + 1).to_bytes(4, "big") + kind + payload)


class Records:
    """Parses fd 3: R<len>\\n<bytes> (a result) and D<status>\\n (a turn's end), in order."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while self.buf:
            nl = self.buf.find(b"\n")
            if nl < 0:
                break
            head = self.buf[:nl]
            if head[:1] == b"R" and head[1:].isdigit():
                n = int(head[1:])
                if n > RESULT_CAP:
                    sys.stderr.write("enclave-result: over %d bytes, dropped\n" % RESULT_CAP)
                    self.buf = b""
                    break
                if len(self.buf) < nl + 1 + n:
                    break
                out.append((b"R", self.buf[nl + 1:nl + 1 + n]))
                self.buf = self.buf[nl + 1 + n:]
            elif head[:1] == b"D" and head[1:].isdigit():
                out.append((b"D", int(head[1:])))
                self.buf = self.buf[nl + 1:]
            else:
                self.buf = self.buf[nl + 1:]  # not ours: skipped
        return out


def _send_result(text):
    try:
        value = json.loads(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        sys.stderr.write("enclave-result: not JSON: %r\n" % text[:80])
        return False
    _send(b"R", json.dumps(value, separators=(",", ":")))
    return True


def _spawn(argv, env, stdin, stdout, stderr, control_w):
    os.set_inheritable(control_w, True)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if control_w != 3:
                os.dup2(control_w, 3)
            for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
                if fd is not None and fd != target:
                    os.dup2(fd, target)
            os.closerange(4, 1024)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    return pid


def _env(extra):
    env = dict(os.environ)
    env.update(extra)
    env["BASH_FUNC_enclave-result%%"] = RESULT_FUNCTION
    return env


def run_batch():
    r, w = os.pipe()
    pid = _spawn([BASH, "--noprofile", "--norc", IO_DIR + "/code.sh"], _env({}), None, None, None, w)
    os.close(w)
    records = Records()
    status = None
    while status is None:
        ready, _, _ = select.select([r], [], [], 0.05)
        if ready:
            data = os.read(r, 65536)
            for kind, value in records.feed(data):
                if kind == b"R":
                    _send_result(value)
        got, st = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            status = os.waitstatus_to_exitcode(st)
    # What the shell wrote just before it exited.
    while select.select([r], [], [], 0)[0]:
        data = os.read(r, 65536)
        if not data:
            break
        for kind, value in records.feed(data):
            if kind == b"R":
                _send_result(value)
    rc = status if status >= 0 else 128 - status
    _send(b"X", str(rc & 0xFF))
    os._exit(rc & 0xFF)


class Kernel:
    # The shell's loop: each turn arrives NUL-terminated on fd 4 and is eval'd at top level.
    LOOP = (
        "exec 4<&0 0</dev/null; trap : INT; "
        "while IFS= read -r -d '' -u 4 __enclave_code; do "
        "eval \"$__enclave_code\"; printf 'D%d\\n' \"$?\" >&3; done"
    )

    def __init__(self):
        self.pid = None
        self.proto = os.fdopen(os.dup(0), "rb", buffering=0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        self.records = Records()
        self.turn = None  # (number, out bytearray, err bytearray, started)
        self.exited = False  # the shell is gone: the kernel ends after this turn

    def start(self, env):
        cmd_r, self.cmd_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ctl_r, ctl_w = os.pipe()
        self.pid = _spawn([BASH, "--noprofile", "--norc", "-c", self.LOOP], _env(env),
                          cmd_r, out_w, err_w, ctl_w)
        for fd in (cmd_r, out_w, err_w, ctl_w):
            os.close(fd)
        self.out, self.err, self.ctl = out_r, err_r, ctl_r

    def interrupt(self, signum, frame):
        if self.turn is not None and self.pid:
            try:
                os.killpg(self.pid, signal.SIGINT)
            except OSError:
                pass

    def read_frame(self):
        head = self._read_exact(9)
        if head is None:
            return None
        length = int.from_bytes(head[:4], "big")
        payload = self._read_exact(length)
        if payload is None:
            return None
        return head[4:5], int.from_bytes(head[5:9], "big"), payload

    def _read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.proto.read(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def run_code(self, code, turn):
        """Sends code to the shell and pumps its output until it reports the end."""
        self.turn = (turn, bytearray(), bytearray(), time.monotonic())
        os.write(self.cmd_w, code.replace(b"\0", b"") + b"\0")
        status = None
        while status is None:
            ready, _, _ = select.select([self.out, self.err, self.ctl], [], [], 1.0)
            for fd in ready:
                data = os.read(fd, 65536)
                if not data:
                    if fd == self.ctl:  # the shell is gone (`exit` in a turn)
                        _, st = os.waitpid(self.pid, 0)
                        self.exited = True
                        status = os.waitstatus_to_exitcode(st)
                        status = status if status >= 0 else 128 - status
                    continue
                if fd == self.ctl:
                    for kind, value in self.records.feed(data):
                        if kind == b"R":
                            _send_result(value)
                        else:
                            status = value
                else:
                    self._output(fd, data)
        for fd in (self.out, self.err):  # what the turn wrote before it ended
            while select.select([fd], [], [], 0)[0]:
                data = os.read(fd, 65536)
                if not data:
                    break
                self._output(fd, data)
        _, out, err, _ = self.turn
        self.turn = None
        return status, bytes(out), bytes(err)

    def _output(self, fd, data):
        buf = self.turn[1] if fd == self.out else self.turn[2]
        room = CAP - len(buf)
        if room > 0:
            buf += data[:room]
            _send(b"o" if fd == self.out else b"e", data[:room])

    def serve(self):
        signal.signal(signal.SIGINT, self.interrupt)
        while True:
            f = self.read_frame()
            if f is None:
                os._exit(0)
            kind, turn, payload = f
            if kind == b"A":
                setup = json.loads(payload)
                self.start(setup.get("env", {}))
                code = setup.get("code", "")
                if code:
                    status, out, err = self.run_code(code.encode(), 0)
                    os.write(1, out)
                    os.write(2, err)
                    if status != 0:
                        os._exit(status & 0xFF)
                _send(b"S", "")
            elif kind == b"T":
                started = time.monotonic()
                status, out, err = self.run_code(payload, turn)
                ms = int((time.monotonic() - started) * 1000)
                _send(b"O", out)
                _send(b"E", err)
                _send(b"D", "%d %d %d" % (turn, status, ms))
                if self.exited:
                    os._exit(status & 0xFF)


if sys.argv[1] == "kernel":
    Kernel().serve()
else:
    run_batch()
