import { ToolError } from '../core/errors.js'
import { parseXml } from './xml.js'

/** Line coverage of one report; reports are combined by adding the counts. */
export interface LineCoverage {
  covered: number
  total: number
  format: 'lcov' | 'cobertura' | 'istanbul-json-summary'
}

function parseIstanbulSummary(text: string, file: string): LineCoverage {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new ToolError(`coverage report ${file} is not valid JSON: ${(e as Error).message}`)
  }
  const lines = (doc as { total?: { lines?: { total?: unknown; covered?: unknown } } })?.total
    ?.lines
  if (typeof lines?.total !== 'number' || typeof lines.covered !== 'number') {
    throw new ToolError(
      `coverage report ${file} is JSON but not an Istanbul json-summary (no total.lines.total/covered)`
    )
  }
  return { covered: lines.covered, total: lines.total, format: 'istanbul-json-summary' }
}

function parseCobertura(text: string, file: string): LineCoverage {
  const doc = parseXml(text, file, [])
  const root = doc.coverage as Record<string, unknown> | undefined
  if (!root || typeof root !== 'object') {
    throw new ToolError(
      `coverage report ${file} is XML but not Cobertura (root element is not <coverage>)`
    )
  }
  const total = Number(root['lines-valid'])
  const covered = Number(root['lines-covered'])
  if (!Number.isFinite(total) || !Number.isFinite(covered) || root['lines-valid'] === undefined) {
    throw new ToolError(
      `Cobertura report ${file} has no lines-valid/lines-covered counts on <coverage>`
    )
  }
  return { covered, total, format: 'cobertura' }
}

/** lcov: LF/LH per record where present, otherwise counted from the DA lines. */
function parseLcov(text: string, file: string): LineCoverage {
  let covered = 0
  let total = 0
  let records = 0
  let record = { lf: NaN, lh: NaN, da: 0, daHit: 0 }
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line.startsWith('LF:')) record.lf = Number(line.slice(3))
    else if (line.startsWith('LH:')) record.lh = Number(line.slice(3))
    else if (line.startsWith('DA:')) {
      record.da++
      if (Number(line.slice(3).split(',')[1]) > 0) record.daHit++
    } else if (line === 'end_of_record') {
      const counted = Number.isFinite(record.lf) && Number.isFinite(record.lh)
      total += counted ? record.lf : record.da
      covered += counted ? record.lh : record.daHit
      records++
      record = { lf: NaN, lh: NaN, da: 0, daHit: 0 }
    }
  }
  if (records === 0)
    throw new ToolError(`coverage report ${file} has no lcov record (no end_of_record line)`)
  return { covered, total, format: 'lcov' }
}

/** Reads a coverage report, telling the format from its content rather than its name. */
export function parseCoverage(text: string, file: string): LineCoverage {
  const start = text.trimStart()
  if (start === '') throw new ToolError(`coverage report ${file} is empty`)
  if (start.startsWith('{')) return parseIstanbulSummary(text, file)
  if (start.startsWith('<')) return parseCobertura(text, file)
  if (/^(TN|SF):/m.test(text)) return parseLcov(text, file)
  throw new ToolError(
    `coverage report ${file}: unknown format (expected lcov, Cobertura XML or Istanbul json-summary)`
  )
}

/** Percentage of covered lines over all reports, or undefined when they count no line at all. */
export function combinedPercent(reports: LineCoverage[]): number | undefined {
  const total = reports.reduce((n, r) => n + r.total, 0)
  const covered = reports.reduce((n, r) => n + r.covered, 0)
  return total === 0 ? undefined : (covered / total) * 100
}
