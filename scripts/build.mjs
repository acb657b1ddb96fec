#!/usr/bin/env node
// Type checking is tsc --noEmit's job (npm test runs it), so ncc only transpiles: faster, and
// one file's type error cannot break another action's bundle.
// Bundles every action (or the ones named) with ncc into actions/<name>/dist/index.js.
// The dist folder is emptied first: ncc leaves stale files behind, and CI compares the
// committed bundle with a fresh one via `git status --porcelain`.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const all = readdirSync(join(root, 'actions')).filter((n) =>
  existsSync(join(root, 'actions', n, 'action.yml'))
)
const wanted = process.argv.slice(2)
const unknown = wanted.filter((n) => !all.includes(n))
if (unknown.length) {
  console.error(`unknown action(s): ${unknown.join(', ')}; known: ${all.join(', ')}`)
  process.exit(2)
}
const ncc = join(root, 'node_modules', '.bin', 'ncc')
for (const name of wanted.length ? wanted : all) {
  const entry = join('src', 'actions', name, 'index.ts')
  const out = join('actions', name, 'dist')
  const started = Date.now()
  rmSync(join(root, out), { recursive: true, force: true })
  execFileSync(
    ncc,
    ['build', entry, '-o', out, '--license', 'licenses.txt', '--transpile-only', '-q'],
    {
      cwd: root,
      stdio: 'inherit'
    }
  )
  // ncc writes {"type":"module"} so the runner loads index.js as ESM; keep it byte-stable.
  writeFileSync(join(root, out, 'package.json'), '{\n  "type": "module"\n}\n')
  console.log(`built ${out}/index.js in ${((Date.now() - started) / 1000).toFixed(1)}s`)
}

// The CLI bundles every action's code, so a full build rebuilds it too.
if (!wanted.length) {
  execFileSync(process.execPath, [join(root, 'scripts', 'build-cli.mjs')], {
    cwd: root,
    stdio: 'inherit'
  })
}
