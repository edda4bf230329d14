// Issue 21 with the unmodified E2B code-interpreter SDK: runCode in JavaScript and Bash (state
// kept across cells), code contexts (createCodeContext, runCode in a context, list, restart,
// remove), and a bad language refused. Run by e2b_gvisor_test.py after e2b_sdk_test.mjs, with
// the same settings (E2B_API_KEY, E2B_API_URL, E2B_SANDBOX_URL).
import { Sandbox } from '@e2b/code-interpreter'

let passed = 0
let failed = 0
function check (cond, what, detail) {
  if (cond) {
    passed++
  } else {
    failed++
    console.log('FAIL', what, detail === undefined ? '' : JSON.stringify(detail).slice(0, 600))
  }
}

const sbx = await Sandbox.create()
try {
  // JavaScript: the completion value is the main result; declarations persist across cells.
  const js1 = await sbx.runCode('const x = 40\nconsole.log("hello from js")\nx + 2', { language: 'js' })
  check(js1.text === '42' && !js1.error, 'js: the completion value is the result', js1.toJSON())
  check(js1.logs.stdout.join('') === 'hello from js\n', 'js: console.log is stdout', js1.logs)
  const js2 = await sbx.runCode('x + 1', { language: 'javascript' })
  check(js2.text === '41', 'js: a declaration is kept for the next cell', js2.toJSON())
  const js3 = await sbx.runCode(
    'const later = await new Promise((r) => setTimeout(() => r(x * 2), 5))', { language: 'js' })
  check(!js3.error, 'js: top-level await', js3.toJSON())
  const js4 = await sbx.runCode('later', { language: 'js' })
  check(js4.text === '80', 'js: a value awaited in one cell is there in the next', js4.toJSON())
  const jsErr = await sbx.runCode('throw new TypeError("boom")', { language: 'js' })
  check(jsErr.error && jsErr.error.name === 'TypeError' && jsErr.error.value === 'boom',
    'js: a thrown error is the execution error', jsErr.toJSON())

  // Bash: one shell across cells (cwd, variables, functions).
  const sh1 = await sbx.runCode('cd /tmp && X=7\ngreet() { echo "hi $1"; }', { language: 'bash' })
  check(!sh1.error, 'bash: a cell that sets state', sh1.toJSON())
  const sh2 = await sbx.runCode('echo "$PWD $X"; greet there', { language: 'bash' })
  check(sh2.logs.stdout.join('') === '/tmp 7\nhi there\n', 'bash: cwd, variable and function kept',
    sh2.logs)
  const sh3 = await sbx.runCode('false', { language: 'bash' })
  check(sh3.error && sh3.error.value === '1', 'bash: a status other than 0 is the error', sh3.toJSON())

  // The Python default context is not disturbed by the other languages.
  const py = await sbx.runCode('x = "python"\nx')
  check(py.text === "'python'", 'python: its own namespace beside js', py.toJSON())
  const js5 = await sbx.runCode('x', { language: 'js' })
  check(js5.text === '40', 'js: its x is not python\'s', js5.toJSON())

  // Code contexts: each its own state.
  const pctx = await sbx.createCodeContext({ language: 'python', cwd: '/tmp' })
  check(pctx && /^python-[0-9a-f]{16}$/.test(pctx.id) && pctx.language === 'python' &&
    pctx.cwd === '/tmp', 'createCodeContext (python) answers {id, language, cwd}', pctx)
  await sbx.runCode('y = 5', { context: pctx })
  const inCtx = await sbx.runCode('import os\n(y * 2, os.getcwd())', { context: pctx })
  check(inCtx.text === "(10, '/tmp')", 'python context: state kept, in its cwd', inCtx.toJSON())
  const outside = await sbx.runCode('"y" in globals()')
  check(outside.text === 'False', 'python context: its names are not the default\'s', outside.toJSON())
  const jctx = await sbx.createCodeContext({ language: 'js' })
  check(jctx && jctx.language === 'javascript', 'createCodeContext (js)', jctx)
  const fresh = await sbx.runCode('typeof x', { context: jctx })
  check(fresh.text === "'undefined'", 'js context: a fresh context has no x', fresh.toJSON())
  const listed = await sbx.listCodeContexts()
  const ids = (listed || []).map((c) => c.id)
  check(ids.includes(pctx.id) && ids.includes(jctx.id) && ids.includes('default'),
    'listCodeContexts lists them', listed)
  await sbx.restartCodeContext(pctx)
  const restarted = await sbx.runCode('"y" in globals()', { context: pctx })
  check(restarted.text === 'False', 'restartCodeContext empties it', restarted.toJSON())
  await sbx.removeCodeContext(jctx)
  const gone = await sbx.runCode('1', { context: jctx })
  check(gone.error && gone.error.name === 'ContextNotFound', 'a removed context is gone', gone.toJSON())

  // Refused by name.
  let refused = null
  try {
    await sbx.runCode('1', { language: 'r' })
  } catch (e) {
    refused = e
  }
  // The SDK shows only the status; the body names the field (unit-tested: e2b_unit_test).
  check(refused !== null && /400/.test(String(refused)), 'language "r" is refused (400)',
    String(refused))
  let badCtx = null
  try {
    await sbx.createCodeContext({ language: 'cobol' })
  } catch (e) {
    badCtx = e
  }
  check(badCtx !== null, 'createCodeContext with an unknown language is refused', String(badCtx))
} finally {
  await sbx.kill()
}
console.log(`e2b languages: ${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
