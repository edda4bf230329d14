// The unmodified E2B SDK's `sbx.files.*` (e2b 2.51.0, pinned in package-lock.json) against a live
// enclaved on gVisor: envd's GET/POST /files and filesystem.Filesystem RPCs, answered with the
// session's /home/user. Run by e2b_gvisor_test.py with this file's name; it sets E2B_API_KEY,
// E2B_API_URL, E2B_SANDBOX_URL (see e2b_sdk_test.mjs). Hostile: a symlink the workload plants
// (to `/`, to /proc/self) never lets a call read or write outside the sandbox, and a path with
// ".." is refused — beside a clean sibling file that must keep its exact bytes.
// Prints one line per failed check and "N passed, M failed"; exits 1 if any failed.
import { createHash } from 'node:crypto'

import { Sandbox } from '@e2b/code-interpreter'

const API = process.env.E2B_API_URL
const KEY = process.env.E2B_API_KEY

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

async function native(method, path) {
  const res = await fetch(API + path, { method, headers: { Authorization: `Bearer ${KEY}` } })
  return { status: res.status, body: await res.json().catch(() => ({})) }
}

async function refused(promise) {
  try {
    await promise
    return null
  } catch (e) {
    return e
  }
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex')

async function main() {
  const sbx = await Sandbox.create()

  // ---- write one, read it back in every format -------------------------------------------------
  const info = await sbx.files.write('/home/user/hello.txt', 'hello from the SDK\n')
  check(info.path === '/home/user/hello.txt' && info.name === 'hello.txt' && info.type === 'file',
    'files.write(path, string) → its entry', info)
  check((await sbx.files.read('/home/user/hello.txt')) === 'hello from the SDK\n', 'files.read → text')
  const bytes = await sbx.files.read('hello.txt', { format: 'bytes' })
  check(bytes instanceof Uint8Array && Buffer.from(bytes).toString() === 'hello from the SDK\n',
    'files.read(relative, bytes) → the same bytes', bytes && bytes.length)
  const stream = await sbx.files.read('~/hello.txt', { format: 'stream' })
  const chunks = []
  for await (const c of stream) chunks.push(Buffer.from(c))
  check(Buffer.concat(chunks).toString() === 'hello from the SDK\n', 'files.read(~/…, stream)')
  const blob = await sbx.files.read('/home/user/hello.txt', { format: 'blob' })
  check((await blob.text()) === 'hello from the SDK\n', 'files.read(blob)')

  // ---- the workload sees the same files, and the SDK sees the workload's ------------------------
  const cat = await sbx.commands.run('cat /home/user/hello.txt; pwd')
  check(cat.stdout === 'hello from the SDK\n/home/user\n', 'commands.run sees the file (cwd /home/user)', cat)
  await sbx.runCode('open("/home/user/made_by_code.csv", "w").write("a,b\\n1,2\\n")')
  check((await sbx.files.read('/home/user/made_by_code.csv')) === 'a,b\n1,2\n', 'files.read sees what runCode wrote')

  // ---- write many (one multipart request), binary and streamed bodies --------------------------
  const binary = Buffer.alloc(3 * 1024 * 1024 + 17)
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 7919) & 0xff
  const many = await sbx.files.write([
    { path: '/home/user/data/a.txt', data: 'A' },
    { path: 'data/b.bin', data: binary.buffer.slice(binary.byteOffset, binary.byteOffset + binary.length) },
    { path: '/home/user/data/deep/c.txt', data: new Blob(['C']) },
  ])
  check(Array.isArray(many) && many.length === 3 &&
    many.map((e) => e.path).join() === '/home/user/data/a.txt,/home/user/data/b.bin,/home/user/data/deep/c.txt',
  'files.write([…3]) → three entries, parents created', many)
  const back = Buffer.from(await sbx.files.read('/home/user/data/b.bin', { format: 'bytes' }))
  check(back.length === binary.length && sha256(back) === sha256(binary), 'a 3 MiB binary file round-trips')
  const inside = await sbx.commands.run('sha256sum /home/user/data/b.bin')
  check(inside.stdout.startsWith(sha256(binary)), 'the workload reads the same 3 MiB', inside.stdout)
  const streamed = await sbx.files.write('/home/user/streamed.txt', new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode('part one, '))
      c.enqueue(new TextEncoder().encode('part two'))
      c.close()
    },
  }))
  check(streamed.path === '/home/user/streamed.txt', 'files.write(ReadableStream) (octet-stream upload)', streamed)
  check((await sbx.files.read('streamed.txt')) === 'part one, part two', 'the streamed file reads back')
  const overwritten = await sbx.files.write('/home/user/hello.txt', 'second version')
  check(overwritten.path === '/home/user/hello.txt' && (await sbx.files.read('hello.txt')) === 'second version',
    'files.write over an existing file replaces it')

  const gz = await refused(sbx.files.write('/home/user/gz.txt', 'zipped', { gzip: true }))
  check(gz && gz.name === 'InvalidArgumentError', 'a gzip upload is refused, not stored compressed', gz && gz.message)
  check((await sbx.files.exists('/home/user/gz.txt')) === false, '… and leaves nothing behind')

  // ---- list, exists, getInfo --------------------------------------------------------------------
  const listed = await sbx.files.list('/home/user/data')
  const names = listed.map((e) => `${e.name}:${e.type}`).sort().join()
  check(names === 'a.txt:file,b.bin:file,deep:dir', 'files.list → entries with types', listed)
  const deep = await sbx.files.list('/home/user/data', { depth: 2 })
  check(deep.some((e) => e.path === '/home/user/data/deep/c.txt'), 'files.list depth 2 reaches deep/c.txt', deep)
  const bEntry = listed.find((e) => e.name === 'b.bin')
  check(bEntry && bEntry.size === binary.length && bEntry.modifiedTime instanceof Date &&
    /^-rw/.test(bEntry.permissions), 'a listed file has its size, time and permissions', bEntry)
  check((await sbx.files.exists('/home/user/hello.txt')) === true, 'exists → true')
  check((await sbx.files.exists('/home/user/nope.txt')) === false, 'exists → false')
  const gi = await sbx.files.getInfo('/home/user/data')
  check(gi.type === 'dir' && gi.name === 'data' && gi.path === '/home/user/data', 'getInfo of a directory', gi)
  const missing = await refused(sbx.files.getInfo('/home/user/nope.txt'))
  check(missing && missing.name === 'FileNotFoundError', 'getInfo of nothing → FileNotFoundError', missing && missing.name)
  const readMissing = await refused(sbx.files.read('/home/user/nope.txt'))
  check(readMissing && readMissing.name === 'FileNotFoundError', 'read of nothing → FileNotFoundError', readMissing && readMissing.name)

  // ---- makeDir, rename, remove ------------------------------------------------------------------
  check((await sbx.files.makeDir('/home/user/newdir/sub')) === true, 'makeDir → true (parents made)')
  check((await sbx.files.makeDir('/home/user/newdir/sub')) === false, 'makeDir of an existing dir → false')
  const moved = await sbx.files.rename('/home/user/data/a.txt', '/home/user/newdir/a-moved.txt')
  check(moved.path === '/home/user/newdir/a-moved.txt' && moved.type === 'file', 'rename → the new entry', moved)
  check((await sbx.files.exists('/home/user/data/a.txt')) === false, 'rename: the old path is gone')
  check((await sbx.commands.run('cat /home/user/newdir/a-moved.txt')).stdout === 'A', 'the workload sees the move')
  await sbx.files.remove('/home/user/newdir')
  check((await sbx.files.exists('/home/user/newdir')) === false, 'remove takes a whole directory')
  const rmMissing = await refused(sbx.files.remove('/home/user/newdir'))
  check(rmMissing && rmMissing.name === 'FileNotFoundError', 'remove of nothing → FileNotFoundError', rmMissing && rmMissing.name)

  // ---- watchDir: what the SDK and the workload do in a directory, as it happens -----------------
  await sbx.files.makeDir('/home/user/watched')
  const seen = []
  const watch = await sbx.files.watchDir('/home/user/watched', (e) => seen.push(`${e.type}:${e.name}`))
  await sbx.files.write('/home/user/watched/from-sdk.txt', 'x')
  await sbx.commands.run('echo y > /home/user/watched/from-code.txt; rm /home/user/watched/from-sdk.txt')
  const want = ['create:from-sdk.txt', 'create:from-code.txt', 'remove:from-sdk.txt']
  const allSeen = async () => want.every((w) => seen.includes(w))
  const deadline = Date.now() + 10000
  while (!(await allSeen()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  check(await allSeen(), 'watchDir sees the SDK\'s write, the workload\'s write and remove', seen)
  check(!seen.some((e) => e.includes('.enclave-upload')), 'watchDir does not show the upload\'s temporary file', seen)
  await watch.stop()
  // ---- hostile paths and links ------------------------------------------------------------------
  await sbx.files.write('/home/user/sibling.txt', 'clean sibling')
  await sbx.commands.run('ln -s / /home/user/rootlink; ln -s /proc/self /home/user/selflink; ' +
    'ln -s /etc/hostname /home/user/hostlink')
  const viaRoot = await refused(sbx.files.read('/home/user/rootlink/etc/passwd'))
  check(viaRoot !== null, 'read through a link to / is refused', viaRoot && viaRoot.message)
  const viaSelf = await refused(sbx.files.read('/home/user/selflink/environ'))
  check(viaSelf !== null, 'read through a link to /proc/self is refused', viaSelf && viaSelf.message)
  const viaFile = await refused(sbx.files.read('/home/user/hostlink'))
  check(viaFile !== null, 'read of a link to a file outside is refused', viaFile && viaFile.message)
  const writeVia = await refused(sbx.files.write('/home/user/rootlink/tmp/ESCAPED', 'ESCAPED'))
  check(writeVia !== null, 'write through a link to / is refused', writeVia && writeVia.message)
  const dotdot = await refused(sbx.files.read('/home/user/../../etc/passwd'))
  check(dotdot && dotdot.name === 'InvalidArgumentError', '".." → InvalidArgumentError', dotdot && dotdot.name)
  const outside = await refused(sbx.files.write('/etc/ESCAPED', 'ESCAPED'))
  check(outside && outside.name === 'InvalidArgumentError', 'a write to /etc is refused', outside && outside.name)
  const badWatch = await refused(sbx.files.watchDir('/home/user/rootlink', () => {}))
  check(badWatch !== null, 'watchDir through a planted link is refused', badWatch && badWatch.message)
  const listLink = await refused(sbx.files.list('/home/user/rootlink'))
  check(listLink !== null, 'list through a link to / is refused', listLink && listLink.message)
  const moveOut = await refused(sbx.files.rename('/home/user/sibling.txt', '/home/user/rootlink/tmp/ESCAPED'))
  check(moveOut !== null, 'rename into a link to / is refused', moveOut && moveOut.message)
  // Positive control: the links exist (so the refusals above are the links', not missing files).
  for (const l of ['rootlink', 'selflink', 'hostlink']) {
    const li = await sbx.files.getInfo(`/home/user/${l}`)
    check(li.type === 'symlink', `getInfo of the planted ${l}: a symlink, not followed`, li)
  }
  const escaped = await sbx.commands.run('ls /ESCAPED /tmp/ESCAPED /etc/ESCAPED 2>/dev/null; true')
  check(!escaped.stdout.includes('ESCAPED'), 'nothing was written outside /home/user', escaped.stdout)
  check((await sbx.files.read('/home/user/sibling.txt')) === 'clean sibling', 'the clean sibling keeps its bytes')

  // ---- audit: every write and read is in the session's log ---------------------------------------
  const audit = (await native('GET', `/v1/sessions/${sbx.sandboxId}/audit`)).body.events || []
  const written = audit.filter((e) => e.type === 'file_written')
  const bWritten = written.find((e) => e.data && e.data.path === '/home/user/data/b.bin')
  check(bWritten && bWritten.data.via === 'e2b' && bWritten.data.sha256 === sha256(binary) &&
    Number(bWritten.data.size) === binary.length, 'audit: file_written {path, size, sha256, via: "e2b"}', bWritten)
  check(written.some((e) => e.data && e.data.path === '/home/user/streamed.txt'), 'audit: the streamed write too')
  const reads = audit.filter((e) => e.type === 'file_read' && e.data && e.data.path === '/home/user/hello.txt')
  check(reads.length >= 5, 'audit: every files.read is a file_read', reads.length)

  // ---- another sandbox's token reaches nothing ---------------------------------------------------
  const other = await Sandbox.create({ timeoutMs: 120000 })
  const cross = await fetch(`${process.env.E2B_SANDBOX_URL}/files?path=/home/user/sibling.txt`, {
    headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'X-Access-Token': other.envdAccessToken },
  })
  check(cross.status === 401, "one sandbox's token cannot read another's files", cross.status)
  check((await other.files.exists('/home/user/sibling.txt')) === false, "sandboxes do not share /home/user")
  await other.kill()

  check((await sbx.kill()) === true, 'killed')
  const afterKill = await refused(sbx.files.read('/home/user/sibling.txt'))
  check(afterKill !== null, 'files.read after kill fails', afterKill && afterKill.message)
}

try {
  await main()
} catch (e) {
  failed++
  console.log('FAIL uncaught', e && e.stack ? e.stack : e)
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
