/** `npx tsx tools/action-names/cli.ts`: prints, per action, the names checked and any problem. */
import { join } from 'node:path'
import { readActionYml } from '../../src/core/action-yml.js'
import { checkNames, namesUsed, sourceFilesOf } from './check.js'

const root = new URL('../..', import.meta.url).pathname
const names = process.argv.slice(2)
let problems = 0
for (const name of names.length
  ? names
  : [
      'backup-verify',
      'build-gate',
      'canary-promote',
      'deploy-bluegreen',
      'image-push',
      'security-scan',
      'slo-report'
    ]) {
  const used = namesUsed(sourceFilesOf(join(root, 'src/actions', name, 'index.ts')), root)
  const found = checkNames(readActionYml(join(root, 'actions', name)), used)
  const count = (l: { name: string }[]): number => new Set(l.map((u) => u.name)).size
  console.log(
    `${name}: ${count(used.inputs)} inputs, ${count(used.outputs)} outputs, ${count(used.stateWritten)}/${count(used.stateRead)} state written/read; ${found.length} problems`
  )
  for (const p of found) console.log(`  ${p}`)
  for (const u of used.unchecked)
    console.log(`  unchecked (computed at run time): ${u.name} at ${u.at}`)
  problems += found.length
}
process.exitCode = problems ? 1 : 0
