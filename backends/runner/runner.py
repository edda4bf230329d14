# Enclave's in-sandbox runner (runs as uid 65534 inside gVisor, mounted read-only at /opt/enclave).
#   runner.py batch  CAP      run /opt/enclave-io/code.py once
#   runner.py kernel CAP      interactive kernel: framed turns on stdin
# Results go to the supervisor on /opt/enclave-io/channel.sock, connected BEFORE any workload code
# runs (the supervisor accepts exactly one connection), so printing never forges a result.
# Frames to the supervisor: u32 big-endian length (kind byte + payload), kind byte, payload.
#   R json text of enclave.result()   O/E turn stdout/stderr (whole, capped)
#   o/e live chunks of the turn's output   D "turn exit_code duration_ms"   S setup done
#   X "exit_code": a one-shot is done, its output flushed (sent just before exiting)
#   M "type\nmain\ndata": a rich result of the running turn (text/plain repr, text/html,
#     image/png bytes of a matplotlib figure); main is 1 for the trailing expression's value
# Frames from the supervisor (kernel, stdin): u32 payload length, kind byte, u32 turn, payload.
#   A setup (json: env, nproc, code, batch?: run code as a one-shot, then exit)   T turn code
#   P pause: answer P on the channel, then close it (gVisor cannot checkpoint a connected host
#     socket); the supervisor then checkpoints the sandbox, which waits for the next frame
#   C reconnect (after a restore, or after a checkpoint that left the sandbox running): connect a
#     new channel and answer S
# SIGINT (the supervisor's `runsc kill ID INT` at a turn's timeout) raises KeyboardInterrupt in the
# running turn, once, as a notebook's stop button does; between turns, and in the middle of a
# frame to the supervisor, it never does (the kernel and the frame stream must survive it).
# Startup cost matters (every syscall is expensive under the ptrace platform and one-shot
# sandboxes are CPU-bound): only built-in modules are imported here; json, traceback, socket,
# threading and struct are imported when a result, a traceback, the proxy shim or the kernel
# needs them.
import _socket
import _thread
import builtins
import io  # io, os: already loaded by the interpreter
import os
import sys

IO_DIR = "/opt/enclave-io"
_channel = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
_channel.connect(IO_DIR + "/channel.sock")
_send_lock = _thread.allocate_lock()
if sys.flags.no_site:
    # Started with -S: site's .pth hooks and sitecustomize (host code, costly under ptrace) never
    # run. What workloads see of site is recreated here: the existing site-packages dirs on
    # sys.path (as site.getsitepackages() lists them here, .pth files not processed) and the
    # exit/quit/help/copyright/credits/license builtins.
    import _sitebuiltins

    _v = "python%d.%d" % sys.version_info[:2]
    for _d in (
        sys.prefix + "/local/lib/" + _v + "/dist-packages",
        sys.prefix + "/lib/python3/dist-packages",
        sys.prefix + "/lib/" + _v + "/dist-packages",
    ):
        if _d not in sys.path and os.path.isdir(_d):
            sys.path.append(_d)
    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    builtins.copyright = _sitebuiltins._Printer("copyright", sys.copyright)
    builtins.credits = _sitebuiltins._Printer(
        "credits",
        "    Thanks to CWI, CNRI, BeOpen.com, Zope Corporation and a cast of thousands\n"
        "    for supporting Python development.  See www.python.org for more information.",
    )
    builtins.license = _sitebuiltins._Printer(
        "license",
        "See https://www.python.org/psf/license/",
        ["LICENSE.txt", "LICENSE"],
        [sys.prefix + "/lib/" + _v, sys.prefix + "/lib/" + _v + "/.."],
    )
    builtins.help = _sitebuiltins._Helper()
CAP = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 20
RESULT_CAP = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20


def _frame(kind, payload):
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "backslashreplace")
    return (len(payload) + 1).to_bytes(4, "big") + kind + payload


def _send(kind, payload):
    _send_frames(_frame(kind, payload))


def _reconnect():
    global _channel
    with _send_lock:
        _channel = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        _channel.connect(IO_DIR + "/channel.sock")


_MAIN_THREAD = _thread.get_ident()
_interruptible = False  # a turn's code is running on the main thread
_main_sending = False  # the main thread is writing a frame: an interrupt waits until it is out
_interrupt_deferred = False


def _on_interrupt(signum, frame):
    global _interruptible, _interrupt_deferred
    if not _interruptible:
        return
    if _main_sending:
        _interrupt_deferred = True
        return
    _interruptible = False
    raise KeyboardInterrupt


def _send_frames(data):
    # One write for several frames: every syscall is costly under the ptrace platform.
    global _main_sending, _interrupt_deferred, _interruptible
    main = _thread.get_ident() == _MAIN_THREAD
    with _send_lock:
        if main:
            _main_sending = True
        try:
            _channel.sendall(data)
        finally:
            if main:
                _main_sending = False
    if main and _interrupt_deferred:
        _interrupt_deferred = False
        if _interruptible:
            _interruptible = False
            raise KeyboardInterrupt


class Enclave:
    """The `enclave` object every workload sees without importing anything."""

    def __init__(self):
        self._turn_result = None

    def result(self, value):
        """Records `value` (JSON-serialisable) as the structured result; the last call wins."""
        import json

        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
        if len(text.encode()) > RESULT_CAP:
            raise ValueError("enclave.result: value is larger than %d bytes as JSON" % RESULT_CAP)
        self._turn_result = text
        _send(b"R", text)


builtins.enclave = Enclave()


def _send_rich(obj, main):
    """A value as rich results (M frames): its repr, and its HTML when it has _repr_html_."""
    frames = [("text/plain", repr(obj))]
    html = getattr(obj, "_repr_html_", None)
    if callable(html):
        try:
            text = html()
        except Exception:  # noqa: BLE001 - a broken _repr_html_ still has its repr
            text = None
        if isinstance(text, str):
            frames.append(("text/html", text))
    for kind, text in frames:
        _send_result(kind, main, text.encode("utf-8", "backslashreplace"))


def _send_result(kind, main, data):
    if len(data) + 64 > CAP:
        sys.stderr.write("enclave: a %s result of %d bytes is over the cap, dropped\n" % (kind, len(data)))
        return
    _send(b"M", kind.encode() + (b"\n1\n" if main else b"\n0\n") + data)


def display(*objs):
    """Shows values as rich results of the turn (as IPython's display())."""
    for obj in objs:
        _send_rich(obj, False)


builtins.display = display


def _send_figures():
    """Each matplotlib figure still open at the end of a turn (plt.show() on Agg keeps them)
    as an image/png result, then closes them: the next turn starts with none."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    try:
        for num in plt.get_fignums():
            buf = io.BytesIO()
            plt.figure(num).savefig(buf, format="png")
            _send_result("image/png", False, buf.getvalue())
        plt.close("all")
    except Exception as e:  # noqa: BLE001 - a figure that cannot render is reported, not fatal
        sys.stderr.write("enclave: a figure could not be rendered: %r\n" % (e,))


def _run_turn(payload, turn, namespace):
    """Runs a turn's code; a trailing expression's value becomes the turn's main result."""
    tree = ast.parse(payload, "<turn %d>" % turn, "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, "<turn %d>" % turn, "exec"), namespace)
    if last is not None:
        value = eval(compile(last, "<turn %d>" % turn, "eval"), namespace)
        if value is not None:
            _send_rich(value, True)


def _workload_traceback(exc):
    import traceback

    # Drop the runner's own frames: the workload's traceback starts at its code.
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _start_proxy_shim():
    """allow_list mode: 127.0.0.1:3128 inside the sandbox -> the supervisor's proxy socket."""
    path = IO_DIR + "/proxy.sock"
    if not os.path.exists(path):
        return
    import socket
    import threading

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 3128))
    srv.listen(16)

    def pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve():
        while True:
            client, _ = srv.accept()
            try:
                up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                up.connect(path)
            except OSError:
                client.close()
                continue
            threading.Thread(target=pump, args=(client, up), daemon=True).start()
            threading.Thread(target=pump, args=(up, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()


def _exit_code(e):
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code & 0xFF
    print(e.code, file=sys.stderr)
    return 1


def run_batch():
    with open(IO_DIR + "/code.py", "rb") as f:
        code = f.read()
    _run_once(code)


def _run_once(code):
    """Runs a one-shot workload as __main__ and exits with its status (never returns)."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    sys.argv = ["<workload>"]
    try:
        exec(compile(code, "<workload>", "exec"), namespace)
    except SystemExit as e:
        rc = _exit_code(e)
    except BaseException as e:  # noqa: BLE001 - the workload's failure is its exit status
        sys.stderr.write(_workload_traceback(e))
        rc = 1
    else:
        rc = 0
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    try:
        _send(b"X", str(rc))  # done: the supervisor need not wait for gVisor to shut down
    except Exception:  # noqa: BLE001
        pass
    os._exit(rc)


class CappedText(io.TextIOBase):
    """A turn's stdout/stderr: keeps the first CAP bytes, counts the rest, and streams what it
    keeps to the supervisor as it comes: at once when LIVE_INTERVAL seconds have passed since the
    last send, else at most LIVE_INTERVAL later (_LiveFlusher), and at the end of the turn. So a
    line printed before a long pause arrives within LIVE_INTERVAL, not at the next write."""

    LIVE_INTERVAL = 0.05

    def __init__(self, live_kind):
        self.buf = bytearray()
        self.total = 0
        self.buffer = self  # sys.stdout.buffer.write(b"...") lands here too
        self._live_kind = live_kind
        self._streamed = 0
        self._last_live = 0.0  # the first write goes out at once
        self._lock = _thread.RLock()  # the workload's threads (or signal handlers) vs. the flusher
        self._ended = False  # the turn is over: nothing more is sent

    def flush_live(self):
        with self._lock:
            if self._ended:
                return
            if self._streamed < len(self.buf):
                _send(self._live_kind, bytes(self.buf[self._streamed:]))
                self._streamed = len(self.buf)
            self._last_live = time.monotonic()

    def end(self):
        """Sends what is left; later writes (a workload thread) are kept but never sent."""
        self.flush_live()
        with self._lock:
            self._ended = True

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def write(self, s):
        b = s.encode("utf-8", "backslashreplace") if isinstance(s, str) else bytes(s)
        with self._lock:
            self.total += len(b)
            room = CAP - len(self.buf)
            if room > 0:
                self.buf += b[:room]
            due = room > 0 and time.monotonic() - self._last_live >= self.LIVE_INTERVAL
        if due:
            self.flush_live()
        elif room > 0:
            _flusher.defer(self)
        return len(s)


class _LiveFlusher:
    """One thread, started on first use, that sends held-back turn output LIVE_INTERVAL after it
    was written. It sleeps on a lock while nothing is held back (no timer wakes an idle kernel)."""

    def __init__(self):
        self._mu = _thread.allocate_lock()
        self._wake = _thread.allocate_lock()
        self._wake.acquire()  # released = there is held-back output
        self._signalled = False
        self._pending = []
        self._started = False

    def defer(self, stream):
        with self._mu:
            if stream not in self._pending:
                self._pending.append(stream)
            if not self._started:
                self._started = True
                _thread.start_new_thread(self._run, ())
            if not self._signalled:
                self._signalled = True
                self._wake.release()

    def _run(self):
        while True:
            self._wake.acquire()
            with self._mu:
                self._signalled = False
            time.sleep(CappedText.LIVE_INTERVAL)
            with self._mu:
                todo, self._pending = self._pending, []
            for stream in todo:
                try:
                    stream.flush_live()
                except OSError:
                    return  # the supervisor is gone


_flusher = _LiveFlusher()
_proto_in = None  # the supervisor's turn stream; fd 0 becomes /dev/null for the workload


def _read_exact(n):
    data = b""
    while len(data) < n:
        chunk = _proto_in.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def run_kernel():
    global _proto_in, _interruptible, _interrupt_deferred
    global json, struct, time, ast
    import _signal
    import ast
    import json
    import resource  # noqa: F401 - imported while a pool kernel idles, not after assignment
    import struct
    import time

    # Turns must not be readable (or consumed by input()) from the workload's stdin.
    # Buffered: a turn frame (header and code) arrives in one read syscall, not two.
    _proto_in = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
    os.set_inheritable(_proto_in.fileno(), False)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = open(0, "r", closefd=False)
    _signal.signal(_signal.SIGINT, _on_interrupt)
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    sys.argv = ["<kernel>"]
    real_out, real_err = sys.stdout, sys.stderr
    # Walk the first turn's paths while the kernel idles (a pool kernel waits here for its
    # session): under ptrace each first touch of a page is a trap to the sentry.
    _warm = CappedText(b"o")
    _warm._ended = True  # nothing of the warm-up is sent
    _warm.write(json.loads('{"w": "x"}')["w"])
    exec(compile("_w = [i for i in range(3)]", "<warm-up>", "exec"), {"__builtins__": builtins})
    struct.unpack(">IcI", b"\0\0\0\0A\0\0\0\0")
    time.perf_counter()
    del _warm
    while True:
        head = _read_exact(9)
        if head is None:
            os._exit(0)
        length, kind, turn = struct.unpack(">IcI", head)
        payload = _read_exact(length)
        if payload is None:
            os._exit(0)
        if kind == b"A":
            setup = json.loads(payload)
            os.environ.update(setup.get("env", {}))
            nproc = setup.get("nproc", 0)
            if nproc > 0:
                import resource
                resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            if setup.get("batch"):
                # A pool kernel assigned a one-shot: run it exactly as run_batch() would.
                _run_once(setup.get("code", "").encode())
            if setup.get("code"):
                try:
                    exec(compile(setup["code"], "<setup>", "exec"), namespace)
                except SystemExit as e:
                    os._exit(_exit_code(e))
                except BaseException as e:  # noqa: BLE001
                    real_err.write(_workload_traceback(e))
                    real_err.flush()
                    os._exit(1)
            _send(b"S", "")
            continue
        if kind == b"P":
            _send(b"P", "")
            with _send_lock:
                _channel.close()
            continue
        if kind == b"C":
            _reconnect()
            _send(b"S", "")
            continue
        if kind != b"T":
            continue
        out, err = CappedText(b"o"), CappedText(b"e")
        enclave._turn_result = None
        sys.stdout, sys.stderr = out, err
        started = time.perf_counter()
        try:
            try:
                _interrupt_deferred = False
                _interruptible = True
                _run_turn(payload, turn, namespace)
                _send_figures()
            finally:
                _interruptible = False
            rc = 0
        except SystemExit as e:
            rc = _exit_code(e)
        except BaseException as e:  # noqa: BLE001
            err.write(_workload_traceback(e))
            rc = 1
        finally:
            sys.stdout, sys.stderr = real_out, real_err
        duration_ms = int((time.perf_counter() - started) * 1000)
        out.end()
        err.end()
        _send_frames(_frame(b"O", bytes(out.buf)) + _frame(b"E", bytes(err.buf)) +
                     _frame(b"D", "%d %d %d" % (turn, rc, duration_ms)))


_start_proxy_shim()
if sys.argv[1] == "kernel":
    run_kernel()
else:
    run_batch()
