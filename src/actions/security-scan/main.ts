import { existsSync, statSync } from 'node:fs'
import type { RunContext } from '../../core/run-context.js'
import { readFile, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { getOctokit } from '@actions/github'
import type { ActionIO } from '../../core/action.js'
import { ConfigurationError, GateError, errorMessage } from '../../core/errors.js'
import { log } from '../../core/log.js'
import { syncScanIssue } from '../../github/issues.js'
import { actionsCacheStore } from '../../scan/actions-cache.js'
import { analyseReport, type Analysis } from '../../scan/analyse.js'
import { describeBySeverity } from '../../scan/gate.js'
import { parseIgnoreFile, type IgnoreRule } from '../../scan/ignore.js'
import { readReportFile, type TrivyReport } from '../../scan/report.js'
import { buildSarif, findingPath } from '../../scan/sarif.js'
import {
  defaultCacheDir,
  scanWithTrivy,
  type ScanOptions,
  type ScanOutcome
} from '../../scan/scan.js'
import { SEVERITIES } from '../../scan/severity.js'
import { buildScanSummary } from './summary.js'
import {
  localTargetKey,
  normaliseTargetKey,
  repoPathPrefix,
  sameTarget,
  scanLabel,
  scanTargetKey
} from '../../scan/target.js'
import { dryRun } from './dry-run.js'
import { readScanInputs, type ScanInputs } from './inputs.js'

const JSON_REPORT = 'trivy-results.json'

async function loadIgnoreRules(file: string | undefined): Promise<IgnoreRule[]> {
  if (!file) return []
  const rules = parseIgnoreFile(await readFile(file, 'utf8'), file)
  log.info(`ignore file ${file}: ${rules.length} entr${rules.length === 1 ? 'y' : 'ies'}`)
  return rules
}

/** Where a scan installs, caches and writes: the same for a run and a dry run's preview. */
function scanOptions(
  inputs: ScanInputs,
  context: RunContext,
  now: Date
): Omit<ScanOptions, 'store'> {
  return {
    scanType: inputs.scanType,
    target: inputs.target,
    input: inputs.input,
    scanners: inputs.scanners,
    trivyPath: inputs.trivyPath,
    version: inputs.trivyVersion,
    sha256: inputs.trivySha256,
    signature: inputs.trivySignature,
    trustedRootPath: inputs.trivyTrustedRoot,
    toolCacheDir: context.toolCacheDir || join(homedir(), '.cache', 'ops-actions', 'tools'),
    tempDir: context.tempDir,
    cacheDir: inputs.cacheDir ?? defaultCacheDir(homedir()),
    outputFile: resolve(JSON_REPORT),
    now,
    timeoutMs: inputs.timeoutMs,
    skipDirs: inputs.skipDirs,
    skipFiles: inputs.skipFiles,
    configFile: inputs.trivyConfig,
    dbRepositories: inputs.dbRepositories,
    javaDbRepositories: inputs.javaDbRepositories,
    checksBundleRepository: inputs.checksBundleRepository,
    offline: inputs.offline
  }
}

async function obtainReport(
  inputs: ScanInputs,
  context: RunContext,
  now: Date
): Promise<{ report: TrivyReport; jsonFile: string; scan?: ScanOutcome }> {
  if (inputs.reportFile) {
    // Read in chunks: a large report is never held whole next to its parsed findings.
    const report = readReportFile(inputs.reportFile, inputs.reportFile)
    // A stale report (the last release's image, another directory) must not gate this target.
    const label = scanLabel(report.ArtifactType, inputs.scanType)
    if (
      inputs.target &&
      report.ArtifactName &&
      !sameTarget(label, inputs.target, report.ArtifactName, process.cwd())
    )
      throw new ConfigurationError(
        `input \`report-file\` = \`${inputs.reportFile}\` is Trivy's report of ${label} \`${report.ArtifactName}\`, not of input \`target\` = \`${inputs.target}\`: gating it would pass or fail another ${label} than the one named. Give the report of that target, or leave \`target\` out`,
        'report-file'
      )
    return { report, jsonFile: inputs.reportFile }
  }
  const options = scanOptions(inputs, context, now)
  const scan = await scanWithTrivy({
    ...options,
    store: inputs.cache ? actionsCacheStore() : undefined
  })
  return { report: scan.report, jsonFile: options.outputFile, scan }
}

/**
 * What a clean OS-package result cannot mean: Trivy scanned no OS packages when it detected no
 * OS (it only logs a WARN and exits 0), and an end-of-life release gets no more advisories.
 */
export function coverageNotes(inputs: ScanInputs, report: TrivyReport): string[] {
  const image =
    report.ArtifactType === 'container_image' ||
    (!inputs.reportFile && (inputs.scanType === 'image' || inputs.scanType === 'rootfs'))
  const vuln = inputs.reportFile ? true : inputs.scanners.includes('vuln')
  if (!image || !vuln) return []
  const name = report.ArtifactName ?? inputs.target ?? inputs.input ?? 'the target'
  const os = report.Metadata?.OS
  if (!os?.Family)
    return [
      `Trivy detected no operating system in ${name}: its OS packages were not scanned for vulnerabilities, so a clean result says nothing about them (an unsupported or missing /etc/os-release, or a scratch image)`
    ]
  if (os.Eosl)
    return [
      `${os.Family} ${os.Name ?? ''} in ${name} is past its end of service life: the distribution publishes no more advisories, so fewer findings do not mean fewer vulnerabilities`
    ]
  return []
}

function warnExpired(analysis: Analysis): void {
  for (const { rule, findings } of analysis.ignore.expired) {
    log.warning(
      `ignore entry \`${rule.id}\` (${rule.origin}) expired on ${rule.expiresAt?.toISOString().slice(0, 10)}: it no longer hides anything (${findings} finding(s) count again)`
    )
  }
}

/** How the scan is named and placed: its kind, its identity across versions, its path prefix. */
interface TargetFacts {
  label: string
  display: string
  key: string
  pathPrefix: string
}

function targetFacts(
  inputs: ScanInputs,
  context: RunContext,
  report: TrivyReport,
  jsonFile: string
): TargetFacts {
  // A report file says what it scanned; the scan-type input only defaults to image.
  const label = inputs.reportFile
    ? scanLabel(report.ArtifactType, inputs.scanType)
    : inputs.scanType
  const display = inputs.target ?? inputs.input ?? report.ArtifactName ?? jsonFile
  const local =
    label !== 'image' && label !== 'sbom' && inputs.target && existsSync(resolve(inputs.target))
      ? resolve(inputs.target)
      : undefined
  const workspace = context.workspace
  return {
    label,
    display,
    key: local ? localTargetKey(label, local, workspace) : scanTargetKey(label, display),
    pathPrefix: local ? repoPathPrefix(workspace, local, statSync(local).isDirectory()) : ''
  }
}

/** File-located findings (IaC checks, secrets) as annotations on the file; GitHub shows 10. */
function annotateFiles(analysis: Analysis, pathPrefix: string): void {
  const located = analysis.gate.failing.filter(
    (f) => f.kind === 'misconfiguration' || f.kind === 'secret'
  )
  for (const f of located.slice(0, 10)) {
    log.warning(`${f.severity} ${f.id}: ${f.title}`, {
      title: `Trivy ${f.kind}`,
      file: findingPath(f, pathPrefix),
      startLine: f.startLine
    })
  }
}

function facts(
  inputs: ScanInputs,
  report: TrivyReport,
  analysis: Analysis,
  target: TargetFacts,
  scan?: ScanOutcome
): [string, string][] {
  const rows: [string, string][] = [
    ['Target', `${target.label} ${report.ArtifactName ?? target.display}`],
    [
      'Gate',
      `${SEVERITIES.filter((s) => inputs.severities.has(s)).join(', ')}${inputs.failOnFindings ? '' : ' (report only)'}`
    ],
    [
      'Trivy',
      scan
        ? scan.trivyVersion
        : `report ${inputs.reportFile} (Trivy ${report.Trivy?.Version ?? '?'})`
    ]
  ]
  if (scan) rows.push(['Scanners', inputs.scanners.join(', ')])
  if (scan?.db)
    rows.push([
      'Vulnerability DB',
      scan.db.status === 'updated'
        ? 'up to date'
        : inputs.offline
          ? 'from the cache (offline)'
          : '⚠️ older cached DB (download failed)'
    ])
  if (scan?.javaDb) rows.push(['Java DB', 'downloaded again after Trivy’s own download failed'])
  if (analysis.ignore.ignored.length)
    rows.push(['Ignored (ignore file)', String(analysis.ignore.ignored.length)])
  if (inputs.ignoreUnfixed) rows.push(['Dropped as unfixed', String(analysis.unfixedDropped)])
  return rows
}

export async function run(io: ActionIO): Promise<void> {
  const inputs = readScanInputs(io.inputs)
  log.secret(inputs.githubToken)
  // Registry credentials reach Trivy through its own environment variables.
  log.secret(process.env.TRIVY_PASSWORD)
  const now = new Date()
  const ignoreRules = await loadIgnoreRules(inputs.ignoreFile)
  if (inputs.dryRun) return dryRun(io, inputs, ignoreRules, scanOptions(inputs, io.context, now))
  const { report, jsonFile, scan } = await obtainReport(inputs, io.context, now)
  const analysis = analyseReport(report, {
    severities: inputs.severities,
    ignoreUnfixed: inputs.ignoreUnfixed,
    ignoreRules,
    now
  })
  warnExpired(analysis)
  const target = targetFacts(inputs, io.context, report, jsonFile)
  annotateFiles(analysis, target.pathPrefix)
  const notes: string[] = coverageNotes(inputs, report)
  for (const note of notes) log.warning(note)
  let sarifFile = ''
  if (inputs.sarifFile) {
    sarifFile = resolve(inputs.sarifFile)
    const forSarif = inputs.limitSeveritiesForSarif
      ? analysis.findings.filter((f) => inputs.severities.has(f.severity))
      : analysis.findings
    const sarif = buildSarif(forSarif, report, {
      pathPrefix: target.pathPrefix,
      category: inputs.sarifCategory ?? `trivy:${target.key}`
    })
    await writeFile(sarifFile, sarif.text)
    if (sarif.omitted > 0) {
      const note = `SARIF holds the ${sarif.included} most severe of ${forSarif.length} findings (GitHub's upload limits); the JSON report has all of them`
      log.warning(note)
      notes.push(note)
    }
  }
  const { counts, failing, passed } = analysis.gate
  for (const [name, value] of Object.entries({
    critical: counts.critical,
    high: counts.high,
    medium: counts.medium,
    low: counts.low,
    unknown: counts.unknown,
    fixable: counts.fixable,
    secrets: counts.secrets,
    misconfigurations: counts.misconfigurations,
    total: counts.total,
    passed,
    'json-file': jsonFile,
    'sarif-file': sarifFile
  })) {
    io.setOutput(name, value)
  }
  const markdown = buildScanSummary({
    title: `Security scan: ${target.display}`,
    facts: facts(inputs, report, analysis, target, scan),
    findings: analysis.findings,
    gate: analysis.gate,
    gateSeverities: inputs.severities,
    ignore: analysis.ignore,
    notes
  })
  await io.writeSummary(markdown)

  let issueError: unknown
  if (inputs.issue) {
    try {
      await reportInIssue(inputs, io.context, target, markdown, failing.length)
    } catch (error) {
      issueError = error
      log.error(errorMessage(error))
    }
  }
  if (!passed) {
    const message = `${failing.length} finding(s) at the gate (${describeBySeverity(failing)}) in ${target.display}: ${failing
      .slice(0, 5)
      .map((f) => `${f.id}${f.pkgName ? ` in ${f.pkgName}` : ''}`)
      .join(', ')}${failing.length > 5 ? ', …' : ''}`
    if (inputs.failOnFindings) throw new GateError(message)
    log.warning(`${message} (fail-on-findings is false: reporting only)`)
  }
  if (issueError) throw issueError
}

async function reportInIssue(
  inputs: ScanInputs,
  context: RunContext,
  target: TargetFacts,
  body: string,
  failing: number
): Promise<void> {
  const [owner = '', repo = ''] = (context.repository ?? '/').split('/')
  const runUrl = context.runUrl
  const octokit = getOctokit(inputs.githubToken!, { baseUrl: context.apiUrl })
  const outcome = await syncScanIssue(octokit, {
    owner,
    repo,
    // Without the tag: a new tag updates the issue the last one opened, and its clean scan closes it.
    key: target.key,
    sameTarget: (markerKey) => normaliseTargetKey(markerKey, context.workspace) === target.key,
    title: `Security scan: ${failing} finding(s) in ${target.display}`,
    body,
    clean: failing === 0,
    runUrl
  })
  if (outcome.action !== 'none')
    log.info(`scan issue #${outcome.number} ${outcome.action}: ${outcome.url}`)
}
