// Issue 21 with the unmodified E2B code-interpreter SDK: a template names an Enclave image, and
// a matplotlib chart comes back as results[i].png. Driven by tests/system/images_languages_test.py
// (E2B_API_KEY, E2B_API_URL, E2B_SANDBOX_URL point at its server; ENCLAVE_TEMPLATE is the image).
import { Sandbox } from '@e2b/code-interpreter'

let failed = 0
function check (cond, what, detail) {
  if (!cond) {
    failed++
    console.log('FAIL', what, detail === undefined ? '' : JSON.stringify(detail).slice(0, 400))
  }
}

const sbx = await Sandbox.create(process.env.ENCLAVE_TEMPLATE)
try {
  const r = await sbx.runCode(
    'import matplotlib.pyplot as plt\nplt.figure(figsize=(4, 3), dpi=50)\nplt.plot([1, 2, 3])\nplt.show()\n6 * 7')
  const png = r.results.find((x) => x.png)
  check(png, 'a chart result (results[i].png)', r.toJSON())
  if (png) {
    const b = Buffer.from(png.png, 'base64')
    check(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) &&
      b.readUInt32BE(16) === 200 && b.readUInt32BE(20) === 150, 'the PNG is the 200x150 figure',
    [b.readUInt32BE(16), b.readUInt32BE(20)])
  }
  check(r.text === '42', 'the cell value is the main result', r.text)
  const np = await sbx.runCode('import numpy\nint(numpy.arange(4).sum())')
  check(np.text === '6', 'numpy on the template image', np.toJSON())
} finally {
  await sbx.kill()
}
let refused = null
try {
  await Sandbox.create('no-such-image')
} catch (e) {
  refused = e
}
check(refused !== null, 'an unknown template is refused', String(refused))
console.log(failed ? `e2b chart: ${failed} failed` : 'e2b chart: template → image, PNG result, numpy')
process.exit(failed ? 1 : 0)
