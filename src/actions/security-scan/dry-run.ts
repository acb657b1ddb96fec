/**
 * security-scan's dry run: the inputs are validated and the ignore file read; then the preview is
 * printed and nothing else happens: no download, no install, no DB, no cache, no scan, no gate,
 * no SARIF, no issue. Only `passed` is set, to `dry-run`.
 */
import { resolve } from 'node:path'
import type { ActionIO } from '../../core/action.js'
import { formatCommand } from '../../core/exec.js'
import { log } from '../../core/log.js'
import { actionsCacheAvailable } from '../../scan/actions-cache.js'
import type { IgnoreRule } from '../../scan/ignore.js'
import { previewScan, type ScanOptions } from '../../scan/scan.js'
import { SEVERITIES } from '../../scan/severity.js'
import { scanTargetKey } from '../../scan/target.js'
import type { ScanInputs } from './inputs.js'
import { dryRunSummary } from './summary.js'

/** The steps of a run, in order, each as one line of plain text. */
async function previewSteps(
  inputs: ScanInputs,
  options: Omit<ScanOptions, 'store'>
): Promise<{ steps: string[]; argv?: string[] }> {
  if (inputs.reportFile) {
    return {
      steps: [`would gate the existing report ${inputs.reportFile} (Trivy not installed nor run)`]
    }
  }
  const preview = await previewScan({ ...options, cache: inputs.cache && actionsCacheAvailable() })
  const steps = [preview.trivy]
  if (preview.db) {
    const update = formatCommand(preview.db.argv)
    steps.push(
      preview.db.cacheKey
        ? `would restore the Trivy DB from the Actions cache (key ${preview.db.cacheKey}, else the newest older day), update it with \`${update}\` and save it`
        : `would update the Trivy DB with \`${update}\` (${inputs.cache ? 'no Actions cache on this runner' : 'cache: false'})`
    )
  }
  return { steps, argv: preview.argv }
}

function gateFacts(inputs: ScanInputs, ignoreRules: IgnoreRule[]): [string, string][] {
  const severities = SEVERITIES.filter((s) => inputs.severities.has(s)).join(', ')
  return [
    [
      'Gate',
      `${severities}${inputs.failOnFindings ? '' : ' (report only: fail-on-findings false)'}`
    ],
    ['Ignore unfixed', String(inputs.ignoreUnfixed)],
    [
      'Ignore file',
      inputs.ignoreFile ? `${inputs.ignoreFile} (${ignoreRules.length} entries)` : 'none'
    ],
    ['SARIF', inputs.sarifFile ? `would write ${resolve(inputs.sarifFile)}` : 'none'],
    [
      'Issue',
      inputs.issue
        ? `would open, update or close the issue for ${inputs.target || inputs.input ? scanTargetKey(inputs.scanType, (inputs.target ?? inputs.input)!) : `${inputs.scanType}:(the report’s artifact)`}`
        : 'no'
    ]
  ]
}

export async function dryRun(
  io: ActionIO,
  inputs: ScanInputs,
  ignoreRules: IgnoreRule[],
  options: Omit<ScanOptions, 'store'>
): Promise<void> {
  const { steps, argv } = await previewSteps(inputs, options)
  const facts = gateFacts(inputs, ignoreRules)
  await log.group('Dry run: what a scan would do', async () => {
    for (const step of steps) log.info(step)
    if (argv) log.info(`would scan with: ${formatCommand(argv)}`)
    for (const [name, value] of facts) log.info(`${name}: ${value}`)
    log.info('dry run: nothing was downloaded, scanned, gated or written')
  })
  io.setOutput('passed', 'dry-run')
  const target = inputs.target ?? inputs.reportFile ?? ''
  await io.writeSummary(dryRunSummary(`${inputs.scanType} ${target}`, steps, argv, facts))
}
