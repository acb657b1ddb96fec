/**
 * `node --import tsx test/cli/init-lint.ts <dir>...`: the project's workflow checks (GitHub's
 * parser, actionlint, our rules, the call contracts against THIS repository's action.yml files)
 * over every workflow `ops-actions init` wrote into each dir; prints JSON
 * {dir: {files, checkedCalls, findings}}. Under tsx for the reason test/workflows/repo.test.ts gives.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { join } from 'node:path'
import { lintWithActionlint } from '../../tools/workflow-lint/actionlint.js'
import type { Finding } from '../../tools/workflow-lint/finding.js'
import { parseWithGitHub } from '../../tools/workflow-lint/github-parser.js'
import { checkCalls } from '../../tools/workflow-lint/interfaces.js'
import { repoLookup } from '../../tools/workflow-lint/lint-repo.js'
import { checkWorkflow } from '../../tools/workflow-lint/workflow-rules.js'
import { loadYaml, syntaxFindings } from '../../tools/workflow-lint/yaml-doc.js'

/**
 * The self-hosted labels the generated .github/actionlint.yaml declares: the wasm actionlint
 * cannot read that file, so its unknown-label findings for exactly those labels are dropped here.
 */
function declaredLabels(dir: string): string[] {
  const path = join(dir, '.github/actionlint.yaml')
  if (!existsSync(path)) return []
  const doc = parse(readFileSync(path, 'utf8')) as { 'self-hosted-runner'?: { labels?: string[] } }
  return doc['self-hosted-runner']?.labels ?? []
}
const declared = (f: Finding, labels: string[]): boolean =>
  f.rule === 'actionlint:runner-label' &&
  labels.some((l) => f.message.startsWith(`label "${l}" is unknown.`))

const repo = repoLookup(new URL('../..', import.meta.url).pathname)
const out: Record<string, { files: string[]; checkedCalls: string[]; findings: Finding[] }> = {}
for (const dir of process.argv.slice(2)) {
  const files = readdirSync(join(dir, '.github/workflows')).map((f) => `.github/workflows/${f}`)
  const labels = declaredLabels(dir)
  const report = { files, checkedCalls: [] as string[], findings: [] as Finding[] }
  for (const file of files) {
    const source = readFileSync(join(dir, file), 'utf8')
    const y = loadYaml(file, source)
    const calls = checkCalls(y, repo, loadYaml)
    report.checkedCalls.push(...calls.checked)
    report.findings.push(
      ...syntaxFindings(y),
      ...checkWorkflow(y),
      ...calls.findings,
      ...calls.skipped.map((s) => ({ file, line: 1, column: 1, rule: 'skipped-call', message: s })),
      ...(await parseWithGitHub(file, source, repo)),
      ...(await lintWithActionlint(file, source)).filter((f) => !declared(f, labels))
    )
  }
  out[dir] = report
}
process.stdout.write(JSON.stringify(out))
