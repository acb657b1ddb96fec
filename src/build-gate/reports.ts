import { readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, relative } from 'node:path'
import * as glob from '@actions/glob'
import { ToolError } from '../core/errors.js'
import { parseCoverage, type CoverageReport } from './coverage.js'
import { parseJUnit, type TestCase } from './junit.js'

/** Patterns are relative to the working directory; `!pattern` excludes, as in @actions/glob. */
function anchor(pattern: string, workDir: string): string {
  const negated = pattern.startsWith('!')
  const body = negated ? pattern.slice(1) : pattern
  return `${negated ? '!' : ''}${isAbsolute(body) ? body : join(workDir, body)}`
}

/**
 * Files matched by the patterns. A pattern list that matches nothing is an error: a missing
 * report must never read as "no tests failed". Reports last written before `notBefore` are
 * left from an earlier run (a self-hosted runner keeps its workspace) and are an error too.
 */
export async function findReports(
  input: string,
  patterns: string[],
  workDir: string,
  notBefore?: number
): Promise<string[]> {
  const globber = await glob.create(patterns.map((p) => anchor(p, workDir)).join('\n'), {
    matchDirectories: false
  })
  const files = (await globber.glob()).sort()
  if (files.length === 0) {
    throw new ToolError(
      `input \`${input}\`: no file matches ${patterns.map((p) => `\`${p}\``).join(', ')} in ${workDir}; ` +
        'did the test command write its report there?'
    )
  }
  if (notBefore !== undefined) {
    // Whole seconds: some file systems keep coarse modification times.
    const stale = files.filter((f) => statSync(f).mtimeMs < Math.floor(notBefore / 1000) * 1000)
    if (stale.length > 0) {
      throw new ToolError(
        `input \`${input}\`: ${stale.map((f) => relative(workDir, f)).join(', ')} ` +
          'predates this run (left from an earlier run?); delete it or write reports to a fresh path'
      )
    }
  }
  for (const f of files) {
    // Followed through symlinks: a link to /dev/zero or a FIFO would be read for ever.
    const st = statSync(f)
    if (!st.isFile())
      throw new ToolError(
        `input \`${input}\`: ${relative(workDir, f)} is not a regular file (a device, FIFO or socket behind a symlink?)`
      )
    if (st.size > MAX_REPORT_BYTES)
      throw new ToolError(
        `input \`${input}\`: ${relative(workDir, f)} is ${st.size} bytes; reports of up to ${MAX_REPORT_BYTES} bytes are read (split it, or report less output per test)`
      )
  }
  return files
}

/** The largest report read: its text, parsed, must fit in the runner's memory. */
export const MAX_REPORT_BYTES = 128 * 1024 * 1024

export interface ReportFile<T> {
  file: string
  content: T
}

export function readJUnitReports(files: string[]): ReportFile<TestCase[]>[] {
  return files.map((file) => ({ file, content: parseJUnit(readFileSync(file, 'utf8'), file) }))
}

export function readCoverageReports(
  files: string[],
  workDir?: string
): ReportFile<CoverageReport>[] {
  return files.map((file) => ({
    file,
    content: parseCoverage(readFileSync(file, 'utf8'), file, workDir)
  }))
}
