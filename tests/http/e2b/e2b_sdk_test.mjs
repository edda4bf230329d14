// The unmodified E2B SDKs (e2b, @e2b/code-interpreter; versions pinned in package-lock.json)
// against a live enclaved on gVisor. Run by e2b_gvisor_test.py, which starts the server and sets:
//   E2B_API_KEY, E2B_API_URL, E2B_SANDBOX_URL   the SDKs' own settings (org "acme", an e2b_ key)
//   ENCLAVE_OTHER_KEY                           an owner key of another org ("globex")
//   ENCLAVE_RUNSC_ROOTS                         ':'-separated runsc --root dirs enclaved may use
// The server runs with --e2b-internet-allow example.com:443.
// Prints one line per failed check and "N passed, M failed"; exits 1 if any failed.
import { execFileSync } from 'node:child_process'
import http from 'node:http'

import { CommandExitError, Sandbox } from '@e2b/code-interpreter'

const API = process.env.E2B_API_URL
const KEY = process.env.E2B_API_KEY
const OTHER_KEY = process.env.ENCLAVE_OTHER_KEY
const ROOTS = (process.env.ENCLAVE_RUNSC_ROOTS || '').split(':').filter(Boolean)

let passed = 0
let failed = 0
function check(cond, what, detail) {
  if (cond) {
    passed++
  } else {
    failed++
    console.log('FAIL', what, detail === undefined ? '' : JSON.stringify(detail))
  }
  return cond
}

// Polls `pred` (async) every 100 ms until it holds or `ms` pass; bounded, returns the last value.
async function waitFor(pred, ms) {
  const end = Date.now() + ms
  for (;;) {
    const v = await pred()
    if (v || Date.now() >= end) return v
    await new Promise((r) => setTimeout(r, 100))
  }
}

// The native API (SPEC.md) with a Bearer key.
async function native(method, path, key = KEY) {
  const res = await fetch(API + path, { method, headers: { Authorization: `Bearer ${key}` } })
  return { status: res.status, body: await res.json().catch(() => ({})) }
}

// Container ids runsc lists under every root enclaved may use.
function runscIds() {
  const ids = new Set()
  for (const root of ROOTS) {
    try {
      const out = execFileSync('runsc', [`--root=${root}`, '--network=none', 'list', '-quiet'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 20000,
      })
      for (const line of out.split('\n')) if (line.trim()) ids.add(line.trim())
    } catch {
      // a root without state yet
    }
  }
  return ids
}

// A raw POST with a chunked request body (no Content-Length), as the issue says the SDKs send.
function postChunked(path, json, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(API + path, { method: 'POST', headers }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }))
    })
    req.on('error', reject)
    const text = JSON.stringify(json)
    req.write(text.slice(0, 5))
    req.end(text.slice(5))
  })
}

async function main() {
  // ---- create ----------------------------------------------------------------------------------
  const sbx = await Sandbox.create()
  check(/^[0-9a-f]{32}$/.test(sbx.sandboxId), 'create: a sandbox id', sbx.sandboxId)
  const session = await native('GET', `/v1/sessions/${sbx.sandboxId}`)
  check(session.status === 200 && session.body.execMode === 'interactive', 'create: an interactive Enclave session', session)
  check(session.body.egress && session.body.egress.mode === 'deny_all', 'create: deny-all egress', session.body.egress)
  check(session.body.phase === 'running', 'create: running when create returns', session.body.phase)
  const info = await Sandbox.getInfo(sbx.sandboxId)
  check(info.sandboxId === sbx.sandboxId && info.templateId === 'code-interpreter-v1', 'getInfo', info)
  const leftMs = info.endAt.getTime() - Date.now()
  check(leftMs > 250000 && leftMs <= 300000, 'getInfo endAt: the default 300 s timeout from now', leftMs)
  check(runscIds().has(sbx.sandboxId), 'create: runsc lists the sandbox (positive control)', [...runscIds()])

  // ---- notebook semantics ----------------------------------------------------------------------
  const first = await sbx.runCode('x = 1')
  check(!first.error && first.results.length === 0, 'x = 1: no result, no error', first.toJSON())
  const second = await sbx.runCode('x + 1')
  check(second.text === '2', 'x + 1 → text "2"', second.toJSON())
  check(second.executionCount === 2, 'executionCount counts the cells', second.executionCount)

  // ---- stdout / stderr, streamed ---------------------------------------------------------------
  const live = []
  const out = await sbx.runCode(
    'import sys\nprint("hello from enclave")\nprint("to stderr", file=sys.stderr)\n"done"',
    { onStdout: (m) => live.push(m.line) },
  )
  check(out.logs.stdout.join('') === 'hello from enclave\n', 'stdout captured in logs', out.logs)
  check(out.logs.stderr.join('') === 'to stderr\n', 'stderr captured in logs', out.logs)
  check(live.join('') === 'hello from enclave\n', 'onStdout saw the output', live)
  check(out.text === "'done'", 'a trailing string expression is its repr', out.text)

  // Output streams while the cell runs: the first line arrives well before the cell ends.
  let firstLineAt = 0
  const slowStarted = Date.now()
  const slow = await sbx.runCode('import time\nprint("early", flush=True)\ntime.sleep(1.5)\nprint("late")', {
    onStdout: (m) => {
      if (!firstLineAt && m.line === 'early\n') firstLineAt = Date.now()
    },
  })
  const slowEnded = Date.now()
  check(slow.logs.stdout.join('') === 'early\nlate\n', 'slow cell: all output', slow.logs)
  check(firstLineAt > 0 && slowEnded - firstLineAt >= 1000, 'slow cell: the first line streamed live',
    { first: firstLineAt - slowStarted, end: slowEnded - slowStarted })

  // Calls at once on one sandbox run one after another; each gets its own output and result.
  const many = await Promise.all([0, 1, 2, 3].map((i) =>
    sbx.runCode(`import time\nfor k in range(3):\n    print("call${i}", k)\n    time.sleep(0.02)\n${i} * 10`)))
  many.forEach((e, i) => {
    check(e.logs.stdout.join('') === `call${i} 0\ncall${i} 1\ncall${i} 2\n` && e.text === String(i * 10),
      `concurrent call ${i}: its own output and result`, e.toJSON())
  })

  // A client that gives up mid-cell: the cell still runs to its end, the next call waits for it.
  let gaveUp
  try {
    await sbx.runCode('import time\ntime.sleep(1.5)\nslow_done = True', { timeoutMs: 300 })
  } catch (e) {
    gaveUp = e
  }
  check(gaveUp && gaveUp.name === 'TimeoutError', 'runCode timeoutMs aborts the client side', gaveUp && gaveUp.name)
  const afterAbort = await sbx.runCode('slow_done')
  check(afterAbort.text === 'True', 'the abandoned cell ran to its end; the sandbox goes on', afterAbort.toJSON())

  // ---- errors ------------------------------------------------------------------------------------
  const bad = await sbx.runCode('undefined_name + 1')
  check(bad.error && bad.error.name === 'NameError', 'NameError → execution.error', bad.toJSON())
  check(bad.error && /undefined_name/.test(bad.error.value), 'error value names it', bad.error)
  check(bad.error && /Traceback/.test(bad.error.traceback) && !/__enclave/.test(bad.error.traceback),
    'traceback shows the cell only', bad.error)
  const syntax = await sbx.runCode('def broken(:')
  check(syntax.error && syntax.error.name === 'SyntaxError', 'SyntaxError → execution.error', syntax.toJSON())
  const still = await sbx.runCode('x')
  check(still.text === '1', 'the namespace survives errors', still.toJSON())

  // ---- commands ---------------------------------------------------------------------------------
  const cmd = await sbx.commands.run('echo hello')
  check(cmd.stdout === 'hello\n' && cmd.exitCode === 0, "commands.run('echo hello') → hello, exit 0", cmd)
  const withEnv = await sbx.commands.run('echo "$FOO"; pwd', { envs: { FOO: 'bar' }, cwd: '/tmp' })
  check(withEnv.stdout === 'bar\n/tmp\n', 'commands.run with envs and cwd', withEnv)
  const cellEnv = await sbx.runCode('import os\nos.environ.get("CELL_VAR")', { envs: { CELL_VAR: 'v1' } })
  check(cellEnv.text === "'v1'", 'runCode envs apply to the cell', cellEnv.toJSON())
  const cellEnvGone = await sbx.runCode('os.environ.get("CELL_VAR")')
  check(cellEnvGone.text === undefined, '… and only to that cell', cellEnvGone.toJSON())
  let exit3
  try {
    await sbx.commands.run('echo oops >&2; exit 3')
  } catch (e) {
    exit3 = e
  }
  check(exit3 instanceof CommandExitError && exit3.exitCode === 3 && exit3.stderr === 'oops\n',
    'a failing command → CommandExitError with its exit code and stderr', exit3 && { code: exit3.exitCode, stderr: exit3.stderr })

  // ---- egress: refused and audited --------------------------------------------------------------
  const egress = await sbx.runCode(
    'import socket\n' +
      's = socket.socket()\ns.settimeout(5)\n' +
      'try:\n    s.connect(("169.254.169.254", 80))\n    r = "connected"\n' +
      'except OSError as e:\n    r = "refused: %s" % e\nr',
  )
  check(egress.text && egress.text.startsWith("'refused"), 'egress to 169.254.169.254 refused', egress.toJSON())
  const denied = await waitFor(async () => {
    const a = await native('GET', `/v1/sessions/${sbx.sandboxId}/audit`)
    return (a.body.events || []).find((e) => e.type === 'egress_denied')
  }, 10000)
  check(denied && denied.data && denied.data.host === '169.254.169.254' && denied.data.port === 80,
    'audit: egress_denied names the host', denied)
  const audit = await native('GET', `/v1/sessions/${sbx.sandboxId}/audit`)
  const turns = (audit.body.events || []).filter((e) => e.type === 'exec_turn').length
  check(turns >= 17, 'audit: every runCode and command is an exec_turn', turns)

  // ---- tenancy ---------------------------------------------------------------------------------
  let otherInfo
  try {
    await Sandbox.getInfo(sbx.sandboxId, { apiKey: OTHER_KEY })
  } catch (e) {
    otherInfo = e
  }
  check(otherInfo && otherInfo.name === 'SandboxNotFoundError', "another org's key cannot see it", otherInfo && otherInfo.name)
  check((await Sandbox.kill(sbx.sandboxId, { apiKey: OTHER_KEY })) === false, "another org's key cannot kill it")
  check((await native('GET', `/v1/sessions/${sbx.sandboxId}`, OTHER_KEY)).status === 404, 'native API: 404 for the other org')
  const otherList = await fetch(`${API}/v2/sandboxes`, { headers: { 'X-API-KEY': OTHER_KEY } })
  check(otherList.status === 200 && !(await otherList.text()).includes(sbx.sandboxId), "another org's list does not show it")
  const ownList = await fetch(`${API}/v2/sandboxes`, { headers: { 'X-API-KEY': KEY } })
  check((await ownList.text()).includes(sbx.sandboxId), 'own list shows it')
  check((await sbx.runCode('x')).text === '1', 'still alive for its org')
  const listed = await Sandbox.list().nextItems()
  check(listed.some((i) => i.sandboxId === sbx.sandboxId && i.templateId === 'code-interpreter-v1'),
    'Sandbox.list() shows it', listed)
  const otherListed = await Sandbox.list({ apiKey: OTHER_KEY }).nextItems()
  check(!otherListed.some((i) => i.sandboxId === sbx.sandboxId), "Sandbox.list() with another org's key does not")
  check((await sbx.isRunning()) === true, 'isRunning() while it runs')

  // Issue 19: pause and connect (resume) as the SDK calls them; the namespace is kept.
  check((await sbx.pause()) === true, 'sbx.pause() → true')
  const pausedInfo = await Sandbox.getInfo(sbx.sandboxId)
  check(pausedInfo.state === 'paused', 'getInfo while paused: state paused', pausedInfo.state)
  check((await Sandbox.betaPause(sbx.sandboxId)) === false, 'Sandbox.betaPause on a paused sandbox → false')
  const otherConnect = await Sandbox.connect(sbx.sandboxId, { apiKey: OTHER_KEY }).catch((e) => e)
  check(otherConnect && otherConnect.name === 'SandboxNotFoundError', "another org's key cannot connect to it",
    otherConnect && otherConnect.name)
  const again = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 300000 })
  check(again.sandboxId === sbx.sandboxId, 'Sandbox.connect(id) → the same sandbox', again.sandboxId)
  check((await again.runCode('x')).text === '1', 'after pause and connect, x is still 1')
  check((await native('GET', `/v1/sessions/${sbx.sandboxId}`)).body.phase === 'running', 'running again after connect')
  const running = await Sandbox.connect(sbx.sandboxId)
  check(running.sandboxId === sbx.sandboxId && (await running.runCode('x + 1')).text === '2',
    'connect to a running sandbox: the same one, as it was')

  // ---- envdAccessToken: valid for one sandbox only ----------------------------------------------
  const sbx2 = await Sandbox.create({ timeoutMs: 120000, envs: { SANDBOX_VAR: 's2' } })
  check((await sbx2.runCode('import os\nos.environ["SANDBOX_VAR"]')).text === "'s2'", 'Sandbox.create envs')
  const runWith = async (id, token) =>
    fetch(`${process.env.E2B_SANDBOX_URL}/execute`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'E2b-Sandbox-Id': id, ...(token ? { 'X-Access-Token': token } : {}) },
      body: JSON.stringify({ code: '1' }),
    })
  check((await runWith(sbx2.sandboxId, sbx.envdAccessToken)).status === 401, "one sandbox's token is refused for another")
  check((await runWith(sbx.sandboxId, undefined)).status === 401, 'no token → 401')
  const ok = await runWith(sbx2.sandboxId, sbx2.envdAccessToken)
  const lines = (await ok.text()).trim().split('\n').map((l) => JSON.parse(l))
  check(ok.status === 200 && lines.some((l) => l.type === 'result' && l.text === '1') &&
    lines[lines.length - 1].type === 'end_of_execution', '/execute answers NDJSON ending with end_of_execution', lines)
  check(ok.headers.get('content-type') === 'application/x-ndjson', 'NDJSON content type')
  check((await sbx2.kill()) === true, 'second sandbox killed')

  // ---- request checks ---------------------------------------------------------------------------
  const chunked = await postChunked('/sandboxes', { templateID: 'code-interpreter-v1' },
    { 'Content-Type': 'application/json', 'X-API-KEY': KEY })
  const made = chunked.status === 201 ? JSON.parse(chunked.body) : {}
  check(chunked.status === 201 && /^\d+\.\d+\.\d+$/.test(made.envdVersion) && made.envdAccessToken,
    'POST /sandboxes with a chunked body → 201 {sandboxID, envdVersion, envdAccessToken}', chunked)
  check(made.domain && made.domain.endsWith('.invalid'),
    'the sandbox domain never resolves (no code to e2b.app without E2B_SANDBOX_URL)', made.domain)
  if (made.sandboxID) check((await Sandbox.kill(made.sandboxID)) === true, 'chunked-created sandbox killed')
  const badTimeout = await postChunked('/v2/sandboxes', { templateID: 'base', timeout: 'soon' },
    { 'Content-Type': 'application/json', 'X-API-KEY': KEY })
  const badBody = JSON.parse(badTimeout.body || '{}')
  check(badTimeout.status === 400 && badBody.code === 400 && badBody.field === 'timeout',
    'a bad timeout → 400 naming the field', badTimeout)
  const noKey = await fetch(`${API}/v2/sandboxes`, { method: 'POST', body: '{"templateID":"base"}' })
  check(noKey.status === 401, 'no API key → 401')
  // Internet access is granted only as the operator's policy says: here
  // --e2b-internet-allow example.com:443 (without it: deny-all, see the unit tests).
  const asked = await Sandbox.create({ allowInternetAccess: true })
  const askedSession = await native('GET', `/v1/sessions/${asked.sandboxId}`)
  const eg = askedSession.body.egress || {}
  check(eg.mode === 'allow_list' && JSON.stringify(eg.allow) === '["example.com:443"]',
    "allowInternetAccess → the operator's allow list", eg)
  const askedInfo = await Sandbox.getInfo(asked.sandboxId)
  check(askedInfo.allowInternetAccess === true, 'getInfo says allowInternetAccess true', askedInfo)
  check((await asked.kill()) === true, 'internet sandbox killed')

  // ---- E2B timeout: the sandbox ends when it runs out (setTimeout re-arms it) -------------------
  const brief = await Sandbox.create({ timeoutMs: 600000 })
  await brief.setTimeout(1000)
  const ended = await waitFor(async () => {
    const s = await native('GET', `/v1/sessions/${brief.sandboxId}`)
    return s.body.tornDown ? s.body : null
  }, 30000)
  check(ended && ended.phase === 'killed', 'setTimeout(1 s): torn down when it runs out', ended)
  check((await brief.kill()) === false, 'a timed-out sandbox is gone for kill()')
  let tooLong
  try {
    await Sandbox.create({ timeoutMs: 100 * 24 * 3600 * 1000 })
  } catch (e) {
    tooLong = e
  }
  check(tooLong && /timeout/.test(tooLong.message), 'a timeout beyond the server max lifetime is refused', tooLong && tooLong.message)

  // ---- kill ------------------------------------------------------------------------------------
  check((await sbx.kill()) === true, 'kill() → true')
  check((await sbx.kill()) === false, 'second kill() → false')
  check((await sbx.isRunning()) === false, 'isRunning() after kill is false')
  const after = await native('GET', `/v1/sessions/${sbx.sandboxId}`)
  check(after.body.phase === 'killed' && after.body.killReason === 'torn_down' && after.body.tornDown === true,
    'the session is torn down', after.body)
  check(!runscIds().has(sbx.sandboxId), 'gone from runsc state', [...runscIds()])
  const torn = (await native('GET', `/v1/sessions/${sbx.sandboxId}/audit`)).body.events || []
  check(torn.some((e) => e.type === 'session_torn_down'), 'audit: session_torn_down')
  let gone
  try {
    await sbx.runCode('x')
  } catch (e) {
    gone = e
  }
  check(gone !== undefined, 'runCode after kill fails', gone && gone.message)
}

try {
  await main()
} catch (e) {
  failed++
  console.log('FAIL uncaught', e && e.stack ? e.stack : e)
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
