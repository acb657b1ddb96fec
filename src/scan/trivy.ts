import { rm } from 'node:fs/promises'
import { ToolError } from '../core/errors.js'
import { formatCommand, runCommand } from '../core/exec.js'
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

export interface ScanSpec {
  scanType: ScanType
  target: string
  scanners: Scanner[]
  cacheDir: string
  outputFile: string
  /** The DB was prepared beforehand (downloaded or restored): never download during the scan. */
  skipDbUpdate: boolean
}

/** Whether this scan needs the vulnerability DB at all. */
export function needsVulnDb(scanType: ScanType, scanners: Scanner[]): boolean {
  return scanType !== 'config' && scanners.includes('vuln')
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
    '0'
  ]
  argv.push('--cache-dir', spec.cacheDir)
  // `trivy config` has neither flag: it only checks misconfigurations and shows no progress bar.
  if (spec.scanType !== 'config') argv.push('--scanners', spec.scanners.join(','), '--no-progress')
  if (spec.skipDbUpdate) argv.push('--skip-db-update')
  // `--` so a target that starts with a dash is never read as a flag.
  argv.push('--', spec.target)
  return argv
}

export function buildDbDownloadArgs(binary: string, cacheDir: string): string[] {
  return [binary, 'image', '--download-db-only', '--cache-dir', cacheDir, '--no-progress']
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

/** Runs the scan; a non-zero exit, a timeout or a missing/invalid report is a ToolError. */
export async function runScan(
  argv: string[],
  outputFile: string,
  timeoutMs: number
): Promise<TrivyReport> {
  // A report left by an earlier run must never pass for this scan's.
  await rm(outputFile, { force: true })
  const result = await runCommand(argv, { timeoutMs })
  if (result.timedOut || result.code !== 0) {
    const why = result.timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${result.code}`
    throw new ToolError(
      `Trivy ${why}, so the target was NOT scanned: ${formatCommand(argv)}\n${tail(result.stderr)}`
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
