# The E2B code interpreter's cells and code contexts inside an Enclave sandbox's Python kernel
# (http/e2b/kernel_code.cc sends this source with every call; the kernel loads it once as the
# module `__enclave_e2b__`, kept in sys.modules, never in the workload's namespace).
#
# handle(args, namespace) runs one call and returns its report (a JSON-able dict):
#   {"op": "cell", "code", "env", "context"}   a cell in a context: "default" is the kernel's own
#       namespace; a Python context has a namespace of its own; a JavaScript or Bash context is a
#       sub-kernel (runner.js / runner_bash.py, started with ENCLAVE_CHANNEL_FD), whose frames
#       are relayed here: its output becomes this turn's output, its completion value the cell's.
#       → {"text"?} | {"error": {name, value, traceback}}
#   {"op": "create", "language", "cwd"?}      → {"context": {id, language, cwd}}
#   {"op": "list"}                              → {"contexts": [...]}
#   {"op": "remove"|"restart", "context"}      → {} | {"error": ...} (unknown context)
# Context ids are "<language>-<16 hex>"; "default-javascript" and "default-bash" are started on
# first use (runCode(code, {language})). At most MAX_CONTEXTS live at once.
import ast
import binascii
import json
import os
import signal
import subprocess
import sys
import traceback

MAX_CONTEXTS = 16
CAP = 1 << 20  # a sub-kernel's output cap per stream and turn (the kernel's own cap applies too)
MAX_FRAME = 4 * CAP  # a frame from a sub-kernel larger than this is a broken sub-kernel
RUNNERS = {
    "javascript": ["/usr/bin/node", "/opt/enclave/runner.js"],
    "bash": [sys.executable, "-I", "-S", "-B", "/opt/enclave/runner_bash.py"],
}
contexts = {}  # id -> PythonContext | SubKernel


class Failed(Exception):
    """A context's call failed in a way the caller is told as an E2B error."""

    def __init__(self, name, value):
        super().__init__(value)
        self.name, self.value = name, value


def _error(name, value, tb=""):
    return {"error": {"name": name, "value": str(value)[:10000], "traceback": tb[-40000:]}}


class PythonContext:
    def __init__(self, cid, cwd):
        self.id, self.language, self.cwd = cid, "python", cwd
        self.restart()

    def restart(self):
        import builtins

        self.namespace = {"__name__": "__main__", "__builtins__": builtins}

    def close(self):
        pass


class SubKernel:
    """runner.js or runner_bash.py as a child of this kernel, speaking the supervisor's protocol:
    frames in on its stdin, frames out on a pipe (ENCLAVE_CHANNEL_FD)."""

    def __init__(self, cid, language, cwd):
        self.id, self.language, self.cwd = cid, language, cwd
        self.proc = None
        self.start()

    def start(self):
        argv = RUNNERS[self.language] + ["kernel", str(CAP), str(CAP)]
        if not os.path.exists(argv[0]):
            raise Failed("LanguageUnavailable",
                         "%s is not installed in this sandbox's image (%s)" % (self.language, argv[0]))
        r, w = os.pipe()
        env = dict(os.environ)
        env["ENCLAVE_CHANNEL_FD"] = str(w)
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, pass_fds=(w,), env=env,
                                         cwd=self.cwd or None, start_new_session=True)
        except OSError as e:
            os.close(r)
            raise Failed("LanguageUnavailable", "cannot start %s: %s" % (self.language, e))
        finally:
            os.close(w)
        self.frames, self.buf, self.turn = r, b"", 0
        try:
            self._send(b"A", json.dumps({"env": {}, "code": ""}).encode())
            while self._next()[0] != b"S":
                pass
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()
        self.proc.stdin.close()
        os.close(self.frames)
        self.proc = None

    def restart(self):
        self.close()
        self.start()

    def _send(self, kind, body):
        self.turn += kind == b"T"
        self.proc.stdin.write(len(body).to_bytes(4, "big") + kind + self.turn.to_bytes(4, "big") + body)
        self.proc.stdin.flush()

    def _next(self):
        while True:
            if len(self.buf) >= 4:
                n = int.from_bytes(self.buf[:4], "big")
                if n < 1 or n > MAX_FRAME:
                    raise Failed("SandboxError", "the %s kernel sent a malformed frame" % self.language)
                if len(self.buf) >= 4 + n:
                    kind, payload = self.buf[4:5], self.buf[5:4 + n]
                    self.buf = self.buf[4 + n:]
                    return kind, payload
            data = os.read(self.frames, 65536)
            if not data:
                raise Failed("KernelDied", "the %s kernel ended" % self.language)
            self.buf += data

    def run(self, code):
        """Runs one cell; returns (exit status, completion value text or None, its stderr)."""
        self._send(b"T", code.encode("utf-8", "surrogatepass"))
        text, err = None, b""
        while True:
            kind, payload = self._next()
            if kind == b"o":
                sys.stdout.buffer.write(payload)
            elif kind == b"e":
                sys.stderr.buffer.write(payload)
            elif kind == b"E":
                err = payload
            elif kind == b"M":
                parts = payload.split(b"\n", 2)
                if len(parts) == 3 and parts[0] == b"text/plain" and parts[1] == b"1":
                    text = parts[2].decode("utf-8", "replace")[:100000]
            elif kind == b"D":
                fields = payload.split()
                return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 1, text, err


def _js_error(stderr):
    """name, value of the error a JavaScript cell threw, from the text runner.js wrote."""
    text = stderr.decode("utf-8", "replace")
    for line in text.splitlines():
        head, sep, rest = line.partition(": ")
        if sep and head and head.replace("_", "").replace("$", "").isalnum() and " " not in head:
            return head, rest, text
    lines = [l for l in text.splitlines() if l.strip()]
    return "Error", (lines[-1] if lines else "the cell failed"), text


def _context(cid, namespace):
    if cid == "default":
        return None
    ctx = contexts.get(cid)
    if ctx is None and cid in ("default-javascript", "default-bash"):
        ctx = _new(cid, cid[len("default-"):], None)
    if ctx is None:
        raise Failed("ContextNotFound", "no code context \"%s\" in this sandbox" % cid)
    return ctx


def _new(cid, language, cwd):
    if len(contexts) >= MAX_CONTEXTS:
        raise Failed("TooManyContexts", "a sandbox has at most %d code contexts" % MAX_CONTEXTS)
    if cwd is not None and not os.path.isdir(cwd):
        raise Failed("NotADirectory", "cwd \"%s\" is not a directory in the sandbox" % cwd)
    ctx = PythonContext(cid, cwd) if language == "python" else SubKernel(cid, language, cwd)
    contexts[cid] = ctx
    return ctx


def _python_cell(code, namespace, cwd):
    out = {}
    here = os.getcwd() if cwd else None
    try:
        if cwd:
            os.chdir(cwd)
        tree = ast.parse(code, "<cell>", "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, "<cell>", "exec"), namespace)
        if last is not None:
            value = eval(compile(last, "<cell>", "eval"), namespace)
            if value is not None:
                out["text"] = repr(value)[:100000]
    except BaseException as e:  # noqa: BLE001 - every failure of a cell is the cell's error
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != "<cell>":
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(e), e, tb))
        out = _error(type(e).__name__, e, text)
    finally:
        if here:
            os.chdir(here)
    return out


def _sub_cell(ctx, code):
    try:
        rc, text, err = ctx.run(code)
    except KeyboardInterrupt:  # the turn's timeout: the sub-kernel's state is lost with it
        contexts.pop(ctx.id, None)
        ctx.close()
        return _error("TimeoutError", "the cell was interrupted; its %s context was reset" % ctx.language)
    except Failed:
        contexts.pop(ctx.id, None)
        ctx.close()
        raise
    if rc == 0:
        return {} if text is None else {"text": text}
    if ctx.language == "bash":
        return _error("ExitCode", str(rc), err.decode("utf-8", "replace"))
    name, value, tb = _js_error(err)
    return _error(name, value, tb)


def _describe(ctx):
    return {"id": ctx.id, "language": ctx.language, "cwd": ctx.cwd or os.getcwd()}


def handle(a, namespace):
    try:
        op = a["op"]
        if op == "cell":
            saved = {k: os.environ.get(k) for k in a["env"]}
            os.environ.update(a["env"])
            try:
                ctx = _context(a["context"], namespace)
                if ctx is None:
                    return _python_cell(a["code"], namespace, None)
                if ctx.language == "python":
                    return _python_cell(a["code"], ctx.namespace, ctx.cwd)
                return _sub_cell(ctx, a["code"])
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        if op == "create":
            cid = "%s-%s" % (a["language"], binascii.hexlify(os.urandom(8)).decode())
            return {"context": _describe(_new(cid, a["language"], a.get("cwd")))}
        if op == "list":
            listed = [{"id": "default", "language": "python", "cwd": os.getcwd()}]
            return {"contexts": listed + [_describe(c) for c in contexts.values()]}
        if op == "remove":
            ctx = _context(a["context"], namespace)
            if ctx is not None:
                contexts.pop(ctx.id, None)
                ctx.close()
            return {}
        if op == "restart":
            ctx = _context(a["context"], namespace)
            if ctx is None:
                raise Failed("NotSupported", "the default context cannot be restarted")
            ctx.restart()
            return {}
        raise Failed("SandboxError", "unknown call %r" % (op,))
    except Failed as e:
        return _error(e.name, e.value)
