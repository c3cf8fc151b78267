// Fails when the committed dist/ is not what tsc makes of src/ (the demo
// page and `billing dev` serve dist/ as is, with no build step).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const out = mkdtempSync(join(tmpdir(), 'billing-client-'))
try {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--outDir', out], { stdio: 'inherit' })
  const want = readdirSync(out).sort()
  const have = readdirSync('dist').sort()
  const stale = []
  if (want.join() !== have.join()) stale.push(`files: dist has [${have}], tsc makes [${want}]`)
  for (const f of want) {
    if (have.includes(f) && readFileSync(join(out, f), 'utf8') !== readFileSync(join('dist', f), 'utf8')) stale.push(f)
  }
  if (stale.length) {
    console.error('clients/typescript/dist is stale (run `npm run build` in clients/typescript and commit dist/):\n  ' + stale.join('\n  '))
    process.exit(1)
  }
  console.log(`clients/typescript/dist matches src (${want.length} files)`)
} finally {
  rmSync(out, { recursive: true, force: true })
}
