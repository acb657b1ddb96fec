#!/usr/bin/env node
// Bundles the ops-actions CLI (src/cli/index.ts) with ncc into cli/dist/index.js, with the same
// flags as the actions' bundles (scripts/build.mjs): transpile only, licenses in licenses.txt,
// dist emptied first, and a byte-stable package.json so Node loads index.js as ESM.
import { execFileSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const out = join('cli', 'dist')
const started = Date.now()
rmSync(join(root, out), { recursive: true, force: true })
execFileSync(
  join(root, 'node_modules', '.bin', 'ncc'),
  [
    'build',
    join('src', 'cli', 'index.ts'),
    '-o',
    out,
    '--license',
    'licenses.txt',
    '--transpile-only',
    '-q'
  ],
  { cwd: root, stdio: 'inherit' }
)
writeFileSync(join(root, out, 'package.json'), '{\n  "type": "module"\n}\n')
console.log(`built ${out}/index.js in ${((Date.now() - started) / 1000).toFixed(1)}s`)
