/**
 * `npm run lint-workflows --` or `node --import tsx tools/workflow-lint/cli.ts [--json] [root]`: every workflow check over the
 * repository (default: this checkout). Prints findings and skipped calls; exit 1 on findings.
 */
import { resolve } from 'node:path'
import { formatFinding } from './finding.js'
import { lintRepo } from './lint-repo.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const root = resolve(
  args.find((a) => !a.startsWith('--')) ?? new URL('../..', import.meta.url).pathname
)
const report = await lintRepo(root)
if (json) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
} else {
  const { workflows, templates, actions } = report.files
  console.log(
    `checked ${workflows.length} workflows, ${templates.length} templates, ${actions.length} action.yml; ${report.checkedCalls.length} calls`
  )
  for (const skipped of new Set(report.skippedCalls)) console.log(`skipped: ${skipped}`)
  for (const f of report.findings) console.log(formatFinding(f))
}
process.exitCode = report.findings.length > 0 ? 1 : 0
