import { rm, writeFile } from 'node:fs/promises'
import { ToolError } from '../core/errors.js'
import { formatCommand, runCommand } from '../core/exec.js'
import { log } from '../core/log.js'
import { readReportFile, type TrivyReport } from './report.js'
import { refuseCompromised } from './trivy-release.js'

export const SCAN_TYPES = ['image', 'fs', 'repo', 'config', 'sbom', 'rootfs'] as const
export type ScanType = (typeof SCAN_TYPES)[number]

export const SCANNERS = ['vuln', 'misconfig', 'secret', 'license'] as const
export type Scanner = (typeof SCANNERS)[number]

/** What each subcommand accepts and what it scans for when `scanners` is not given. */
export const SCANNERS_BY_TYPE: Record<ScanType, { allowed: Scanner[]; default: Scanner[] }> = {
  image: { allowed: [...SCANNERS], default: ['vuln', 'secret'] },
  fs: { allowed: [...SCANNERS], default: ['vuln', 'secret'] },
  repo: { allowed: [...SCANNERS], default: ['vuln', 'secret'] },
  rootfs: { allowed: [...SCANNERS], default: ['vuln', 'secret'] },
  sbom: { allowed: ['vuln', 'license'], default: ['vuln'] },
  // `trivy config` only checks misconfigurations and has no --scanners flag.
  config: { allowed: ['misconfig'], default: ['misconfig'] }
}

/**
 * Given to `--config` and `--ignorefile` when the user named none: Trivy otherwise reads
 * `./trivy.yaml` and `./.trivyignore` from the working directory, which would silently filter
 * the report the gate, the counts and the SARIF are made from (the ignore file is applied by
 * the action itself, with expiry warnings).
 */
export const NO_FILE = '/dev/null'

/** Where Trivy gets its databases and checks from: mirrors for rate limits and air gaps. */
export interface TrivySources {
  dbRepositories?: string[]
  javaDbRepositories?: string[]
  checksBundleRepository?: string
}

export interface ScanSpec extends TrivySources {
  scanType: ScanType
  /** Image reference or path; undefined with `input` (an image tar). */
  target?: string
  /** `trivy image --input image.tar`: an image saved by `docker save`, no registry. */
  input?: string
  scanners: Scanner[]
  cacheDir: string
  outputFile: string
  /** The DB was prepared beforehand (downloaded or restored): never download during the scan. */
  skipDbUpdate: boolean
  /** The Java DB is in the cache (restored or downloaded with retries): never download it. */
  skipJavaDbUpdate?: boolean
  /** Nothing from the network: no DB, Java DB, checks bundle or VEX download, no version check. */
  offline?: boolean
  /** Trivy's own `--timeout` (default 5m there); the process gets a grace period on top. */
  timeoutMs: number
  skipDirs?: string[]
  skipFiles?: string[]
  /** `trivy.yaml` the user chose; none: `NO_FILE`, so `./trivy.yaml` is not read by accident. */
  configFile?: string
}

/** Whether this scan needs the vulnerability DB at all. */
export function needsVulnDb(scanType: ScanType, scanners: Scanner[]): boolean {
  return scanType !== 'config' && scanners.includes('vuln')
}

function repeated(flag: string, values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => [flag, v])
}

function sourceArgs(spec: TrivySources): string[] {
  return [
    ...repeated('--db-repository', spec.dbRepositories),
    ...repeated('--java-db-repository', spec.javaDbRepositories),
    ...(spec.checksBundleRepository
      ? ['--checks-bundle-repository', spec.checksBundleRepository]
      : [])
  ]
}

/** Trivy takes `--timeout` as a Go duration; whole seconds are enough. */
/**
 * Trivy reads every flag it is not given from a `TRIVY_<FLAG>` variable, so a job-level
 * `TRIVY_SEVERITY`, `TRIVY_IGNORE_UNFIXED`, `TRIVY_VEX`, `TRIVY_IGNORE_POLICY`, `TRIVY_SKIP_FILES`...
 * (trivy-action's docs suggest them) would silently filter the report the gate counts. Only
 * these reach it: registry credentials and transport, which choose no finding.
 */
export const TRIVY_ENV_KEPT: readonly string[] = [
  'TRIVY_USERNAME',
  'TRIVY_PASSWORD',
  'TRIVY_REGISTRY_TOKEN',
  'TRIVY_INSECURE',
  'TRIVY_NON_SSL'
]

/** Overrides for runCommand's env: every other `TRIVY_*` variable unset, for the scan. */
export function trivyEnv(env: NodeJS.ProcessEnv = process.env): {
  env: Record<string, undefined>
  dropped: string[]
} {
  const dropped = Object.keys(env)
    .filter((k) => /^TRIVY_/i.test(k) && !TRIVY_ENV_KEPT.includes(k))
    .sort()
  return { env: Object.fromEntries(dropped.map((k) => [k, undefined])), dropped }
}

/**
 * `--secret-config`: Trivy otherwise reads `./trivy-secret.yaml`, whose `disable-rules` and
 * `allow-rules` silently hide secrets. Trivy refuses /dev/null (an empty YAML does not decode),
 * so runScan writes `{}` here: the builtin rules, nothing disabled.
 */
export function secretConfigPath(outputFile: string): string {
  return `${outputFile}.secret-config.yaml`
}

export function trivyDuration(ms: number): string {
  return `${Math.max(1, Math.ceil(ms / 1000))}s`
}

/**
 * One scan, every severity, JSON: the gate, summary and SARIF all come from this one report.
 * `--exit-code 0` so Trivy's status only means "ran" or "crashed", never "found something".
 */
export function buildScanArgs(binary: string, spec: ScanSpec): string[] {
  const argv = [
    binary,
    spec.scanType,
    '--format',
    'json',
    '--output',
    spec.outputFile,
    '--exit-code',
    '0',
    '--cache-dir',
    spec.cacheDir,
    '--timeout',
    trivyDuration(spec.timeoutMs),
    '--config',
    spec.configFile ?? NO_FILE,
    '--ignorefile',
    NO_FILE,
    // The pinned version is the point; a notice to upgrade is noise in every job log.
    '--skip-version-check'
  ]
  // What each subcommand accepts (checked against `trivy <sub> --help` of the real binary):
  // `config` has no scanners, progress bar, DB or offline flags; `sbom` walks no files and
  // runs no checks, so it has no skip-dirs/files or checks flags.
  const config = spec.scanType === 'config'
  const sbom = spec.scanType === 'sbom'
  if (!config) argv.push('--scanners', spec.scanners.join(','), '--no-progress')
  if (!config && !sbom) argv.push('--secret-config', secretConfigPath(spec.outputFile))
  if (!config && (spec.skipDbUpdate || spec.offline)) argv.push('--skip-db-update')
  if (!config && !sbom && (spec.skipJavaDbUpdate || spec.offline))
    argv.push('--skip-java-db-update')
  if (spec.offline && !sbom) argv.push('--skip-check-update')
  if (spec.offline && !config) argv.push('--offline-scan')
  if (!sbom) {
    argv.push(
      ...repeated('--skip-dirs', spec.skipDirs),
      ...repeated('--skip-files', spec.skipFiles)
    )
  }
  argv.push(
    ...sourceArgs({
      dbRepositories: config ? undefined : spec.dbRepositories,
      javaDbRepositories: config ? undefined : spec.javaDbRepositories,
      checksBundleRepository: sbom ? undefined : spec.checksBundleRepository
    })
  )
  if (spec.input) {
    argv.push('--input', spec.input)
    return argv
  }
  // `--` so a target that starts with a dash is never read as a flag.
  argv.push('--', spec.target ?? '')
  return argv
}

export function buildDbDownloadArgs(
  binary: string,
  cacheDir: string,
  sources: TrivySources = {}
): string[] {
  return [
    binary,
    'image',
    '--download-db-only',
    '--cache-dir',
    cacheDir,
    '--no-progress',
    '--skip-version-check',
    ...repeated('--db-repository', sources.dbRepositories)
  ]
}

export function buildJavaDbDownloadArgs(
  binary: string,
  cacheDir: string,
  sources: TrivySources = {}
): string[] {
  return [
    binary,
    'image',
    '--download-java-db-only',
    '--cache-dir',
    cacheDir,
    '--no-progress',
    '--skip-version-check',
    ...repeated('--java-db-repository', sources.javaDbRepositories)
  ]
}

/** Whether the scan looks inside artifacts for Java archives (the Java DB names their jars). */
export function mayNeedJavaDb(scanType: ScanType, scanners: Scanner[]): boolean {
  return ['image', 'fs', 'repo', 'rootfs'].includes(scanType) && scanners.includes('vuln')
}

/** Trivy's error when the lazy Java DB download fails mid-scan. */
export function isJavaDbFailure(stderr: string): boolean {
  return /java[ -]?db|trivy-java-db|java index database/i.test(stderr)
}

function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n')
}

/** `trivy version --format json` -> `0.72.0`; refuses a compromised build given via trivy-path. */
export async function trivyVersion(binary: string): Promise<string> {
  const result = await runCommand([binary, 'version', '--format', 'json'], { timeoutMs: 60_000 })
  let version: unknown
  try {
    version = (JSON.parse(result.stdout) as { Version?: unknown }).Version
  } catch {
    version = undefined
  }
  if (result.code !== 0 || typeof version !== 'string') {
    throw new ToolError(
      `\`${binary} version --format json\` did not report a version (exit ${result.code}): ${tail(result.stderr || result.stdout)}`
    )
  }
  refuseCompromised(version)
  return version.replace(/^v/, '')
}

export class ScanFailed extends ToolError {
  constructor(
    message: string,
    readonly stderr: string
  ) {
    super(message)
  }
}

/** Runs the scan; a non-zero exit, a timeout or a missing/invalid report is a ToolError. */
export async function runScan(
  argv: string[],
  outputFile: string,
  timeoutMs: number
): Promise<TrivyReport> {
  // A report left by an earlier run must never pass for this scan's.
  await rm(outputFile, { force: true })
  const secretConfig = argv.indexOf('--secret-config')
  if (secretConfig >= 0) await writeFile(argv[secretConfig + 1], '{}\n')
  const { env, dropped } = trivyEnv()
  if (dropped.length > 0)
    log.warning(
      `not passing ${dropped.join(', ')} to Trivy: Trivy reads flags from TRIVY_* variables, which would filter the report this action gates on (use the action's inputs, or trivy-config)`
    )
  let result
  try {
    result = await runCommand(argv, { timeoutMs, env })
  } finally {
    if (secretConfig >= 0) await rm(argv[secretConfig + 1], { force: true })
  }
  if (result.timedOut || result.code !== 0) {
    const why = result.timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${result.code}`
    throw new ScanFailed(
      `Trivy ${why}, so the target was NOT scanned: ${formatCommand(argv)}\n${tail(result.stderr)}`,
      result.stderr
    )
  }
  try {
    return readReportFile(outputFile, `Trivy's report ${outputFile}`)
  } catch (error) {
    if (error instanceof ToolError) throw error
    // Only reading the file throws anything else (missing, a directory, unreadable).
    throw new ToolError(
      `Trivy exited 0 but wrote no report to ${outputFile}; treating the scan as failed`
    )
  }
}
