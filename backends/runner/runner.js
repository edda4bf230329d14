// Enclave's in-sandbox JavaScript runner (Node.js; uid 65534 inside gVisor, read-only at
// /opt/enclave). The same protocol as runner.py:
//   node runner.js batch  CAP RESULT_CAP   run /opt/enclave-io/code.js once
//   node runner.js kernel CAP RESULT_CAP   interactive kernel: framed turns on stdin
// Frames to the supervisor on /opt/enclave-io/channel.sock (connected BEFORE workload code runs;
// or on the fd ENCLAVE_CHANNEL_FD names, see connectChannel):
// u32 big-endian length (kind byte + payload), kind byte, payload — R result JSON, O/E a turn's
// whole stdout/stderr, o/e live chunks, D "turn exit_code duration_ms", S setup done, X exit
// status of a one-shot, M "type\nmain\ndata" a rich result (the turn's completion value).
// Frames from the supervisor (kernel): u32 payload length, kind byte, u32 turn, payload:
// A setup (JSON: env, code), T turn code.
// Every turn runs in ONE vm context, so declarations persist across turns; a turn using
// top-level `await` runs as an async function whose top-level `let/const/var NAME =` become
// globals of the context. SIGINT (the supervisor's interrupt at a turn's timeout) breaks a
// running synchronous turn (vm breakOnSigint); between turns it is ignored.
"use strict";
const fs = require("fs");
const net = require("net");
const util = require("util");
const vm = require("vm");

const IO_DIR = "/opt/enclave-io";
const MODE = process.argv[2];
const CAP = Number(process.argv[3] || 1 << 20);
const RESULT_CAP = Number(process.argv[4] || 1 << 20);
let channelFd = -1;

function frame(kind, payload) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(String(payload), "utf8");
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head.write(kind, 4, "latin1");
  return Buffer.concat([head, body]);
}

// Synchronous, so that frames written in an 'exit' handler still go out, and in order.
function send(kind, payload) {
  const data = frame(kind, payload);
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(channelFd, data, off, data.length - off);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
    }
  }
}

// A turn's captured stream: keeps the first CAP bytes, counts the rest, streams what it keeps.
class Capture {
  constructor(liveKind) {
    this.chunks = [];
    this.kept = 0;
    this.liveKind = liveKind;
  }
  write(data) {
    const b = Buffer.isBuffer(data) ? data : Buffer.from(String(data), "utf8");
    const room = CAP - this.kept;
    if (room <= 0) return;
    const part = b.length > room ? b.subarray(0, room) : b;
    this.chunks.push(part);
    this.kept += part.length;
    send(this.liveKind, part);
  }
  text() {
    return Buffer.concat(this.chunks);
  }
}

let turnOut = null;
let turnErr = null;
// Inside a turn, process.stdout/stderr (and so console.*) are the turn's; outside, the pipes.
for (const [stream, which] of [
  [process.stdout, () => turnOut],
  [process.stderr, () => turnErr],
]) {
  const original = stream.write.bind(stream);
  stream.write = (chunk, encoding, cb) => {
    const cap = which();
    if (cap === null) return original(chunk, encoding, cb);
    cap.write(typeof chunk === "string" ? Buffer.from(chunk, encoding || "utf8") : chunk);
    if (typeof encoding === "function") encoding();
    else if (typeof cb === "function") cb();
    return true;
  };
}

const enclave = {
  // Records `value` (JSON-serialisable) as the structured result; the last call wins.
  result(value) {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError("enclave.result: value is not JSON-serialisable");
    if (Buffer.byteLength(text) > RESULT_CAP)
      throw new RangeError(`enclave.result: value is larger than ${RESULT_CAP} bytes as JSON`);
    send("R", text);
  },
};

const context = vm.createContext({
  enclave,
  console,
  process,
  require,
  Buffer,
  URL,
  URLSearchParams,
  TextEncoder,
  TextDecoder,
  AbortController,
  structuredClone,
  queueMicrotask,
  setTimeout,
  clearTimeout,
  setInterval,
  clearInterval,
  setImmediate,
  clearImmediate,
  fetch: globalThis.fetch,
});
context.globalThis = context;

// Compiles a turn. Code with top-level `await` is not a script: it becomes an async function
// whose top-level declarations are assignments to the context's globals.
function compile(code, filename) {
  try {
    return { script: new vm.Script(code, { filename }), async: false };
  } catch (e) {
    if (!(e instanceof SyntaxError) || !/await/.test(e.message)) throw e;
  }
  const hoisted = code.replace(/^(let|const|var)\s+([A-Za-z_$][\w$]*)\s*=/gm, "$2 =");
  const wrapped = `(async () => {\n${hoisted}\n})()`;
  return { script: new vm.Script(wrapped, { filename, lineOffset: -1 }), async: true };
}

async function runCode(code, filename) {
  const { script, async } = compile(code, filename);
  const value = script.runInContext(context, { breakOnSigint: true, displayErrors: false });
  if (async) {
    await value;
    return undefined;
  }
  return value;
}

// The error's stack without the runner's own frames (the workload's code ends at its turn).
function errorText(e) {
  const text = (e && e.stack) || String(e);
  return text
    .split("\n")
    .filter((line) => !line.includes(__filename) && !line.includes("(node:vm:"))
    .join("\n");
}

// ENCLAVE_CHANNEL_FD: the frames go to this inherited fd instead of channel.sock — the runner
// is then a sub-kernel of the Python kernel (E2B code contexts, http/e2b/kernel_code.cc), which
// relays them. Removed from the environment before any workload code runs.
function connectChannel() {
  const inherited = process.env.ENCLAVE_CHANNEL_FD;
  delete process.env.ENCLAVE_CHANNEL_FD;
  if (inherited !== undefined && /^[0-9]{1,4}$/.test(inherited)) {
    channelFd = Number(inherited);
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(IO_DIR + "/channel.sock", () => {
      channelFd = sock._handle.fd;
      sock.pause();
      resolve(sock);
    });
    sock.on("error", reject);
  });
}

async function runBatch() {
  let exitReported = false;
  const reportExit = (code) => {
    if (exitReported) return;
    exitReported = true;
    try {
      send("X", String(code & 0xff));
    } catch (e) {
      // the supervisor is gone
    }
  };
  process.on("exit", (code) => reportExit(code));
  process.on("uncaughtException", (e) => {
    process.stderr.write(errorText(e) + "\n");
    reportExit(1);
    process.exit(1);
  });
  const code = fs.readFileSync(IO_DIR + "/code.js", "utf8");
  try {
    await runCode(code, "<workload>");
  } catch (e) {
    process.stderr.write(errorText(e) + "\n");
    reportExit(1);
    process.exit(1);
  }
  // Timers and I/O the workload started run on; the process ends when nothing is left.
}

async function runKernel() {
  process.on("SIGINT", () => {}); // a turn is broken by breakOnSigint; the kernel lives on
  process.on("unhandledRejection", (e) => process.stderr.write(errorText(e) + "\n"));
  let pending = Buffer.alloc(0);
  let busy = false;
  const queue = [];
  const next = async () => {
    if (busy) return;
    busy = true;
    while (queue.length > 0) await handle(queue.shift());
    busy = false;
  };
  process.stdin.on("data", (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readUInt32BE(0);
      if (pending.length < 9 + length) break;
      queue.push({
        kind: pending.toString("latin1", 4, 5),
        turn: pending.readUInt32BE(5),
        payload: pending.subarray(9, 9 + length).toString("utf8"),
      });
      pending = pending.subarray(9 + length);
    }
    next();
  });
  process.stdin.on("end", () => process.exit(0));
}

async function handle({ kind, turn, payload }) {
  if (kind === "A") {
    const setup = JSON.parse(payload);
    Object.assign(process.env, setup.env || {});
    if (setup.code) {
      try {
        await runCode(setup.code, "<setup>");
      } catch (e) {
        process.stderr.write(errorText(e) + "\n");
        process.exit(1);
      }
    }
    send("S", "");
    return;
  }
  if (kind !== "T") return;
  turnOut = new Capture("o");
  turnErr = new Capture("e");
  const started = process.hrtime.bigint();
  let rc = 0;
  let value;
  try {
    value = await runCode(payload, `<turn ${turn}>`);
  } catch (e) {
    turnErr.write(errorText(e) + "\n");
    rc = 1;
  }
  const out = turnOut.text();
  const err = turnErr.text();
  turnOut = turnErr = null;
  if (rc === 0 && value !== undefined) {
    const text = Buffer.from(util.inspect(value), "utf8");
    if (text.length + 64 <= CAP) send("M", Buffer.concat([Buffer.from("text/plain\n1\n"), text]));
  }
  const ms = Number((process.hrtime.bigint() - started) / 1000000n);
  send("O", out);
  send("E", err);
  send("D", `${turn} ${rc} ${ms}`);
}

connectChannel().then(
  () => (MODE === "kernel" ? runKernel() : runBatch()),
  (e) => {
    process.stderr.write("enclave: cannot reach the supervisor: " + errorText(e) + "\n");
    process.exit(111);
  }
);
