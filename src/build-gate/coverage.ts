import { existsSync } from 'node:fs'
import { dirname, isAbsolute, join, normalize, relative, resolve } from 'node:path'
import { ToolError } from '../core/errors.js'
import { parseXml } from './xml.js'

export type CoverageFormat =
  'lcov' | 'cobertura' | 'istanbul-json-summary' | 'jacoco' | 'clover' | 'go-coverprofile'

/** Covered / total, as the decision used them. */
export interface Counts {
  covered: number
  total: number
}

/**
 * Coverage of one source file, keyed so that two reports of the same file merge instead of
 * adding up: lines by number (Go: statement blocks by position, weighted by their statements),
 * branches by line and index. A key covered in any report is covered.
 */
export interface FileCoverage {
  lines: Map<string, { hits: number; weight: number }>
  branches: Map<string, number>
}

export interface CoverageReport {
  format: CoverageFormat
  files: Map<string, FileCoverage>
  /** Per-file counts of formats that carry no line detail (Istanbul json-summary). */
  fileTotals: Map<string, { lines: Counts; branches: Counts }>
  /** This report alone, for the summary table. */
  lines: Counts
  branches: Counts
}

type XmlNode = Record<string, unknown>
const arr = (v: unknown): XmlNode[] =>
  Array.isArray(v) ? (v as XmlNode[]) : v && typeof v === 'object' ? [v as XmlNode] : []
const num = (v: unknown): number => (typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN)

class Collector {
  readonly files = new Map<string, FileCoverage>()
  readonly fileTotals = new Map<string, { lines: Counts; branches: Counts }>()

  constructor(
    private readonly workDir?: string,
    private readonly reportFile?: string,
    private readonly exists: (path: string) => boolean = existsSync
  ) {}

  /**
   * Where a relative path in a report points. jest (lcov, Cobertura) and coverage.py write paths
   * relative to the directory they ran in, so in a monorepo `packages/a` and `packages/b` both
   * name `src/index.ts`: keyed as written, the two files merged into one and the better one hid
   * the other. Cobertura names its roots (`<source>`); otherwise the nearest directory above the
   * report where the file exists, up to the working directory. Unresolved, the path is kept.
   */
  private resolve(path: string, roots: string[] = []): string {
    if (isAbsolute(path)) return path
    const bases = roots.map((r) => (this.workDir ? resolve(this.workDir, r) : r))
    if (this.workDir && this.reportFile) {
      const top = resolve(this.workDir)
      for (let dir = dirname(resolve(this.workDir, this.reportFile)); ; dir = dirname(dir)) {
        const rel = relative(top, dir)
        if (rel.startsWith('..') || isAbsolute(rel)) break
        bases.push(dir)
        if (dir === top) break
      }
    }
    const found = bases.find((b) => isAbsolute(b) && this.exists(join(b, path)))
    if (found) return join(found, path)
    return roots.length > 0 && isAbsolute(bases[0]) ? join(bases[0], path) : path
  }

  private key(path: string, roots?: string[]): string {
    const p = normalize(roots === undefined ? path : this.resolve(path, roots)).replace(/^\.\//, '')
    if (this.workDir && isAbsolute(p)) {
      const rel = relative(this.workDir, p)
      if (!rel.startsWith('..') && !isAbsolute(rel)) return rel.split('\\').join('/')
    }
    return p.split('\\').join('/')
  }

  /** `roots`: resolve a relative path (Cobertura's `<source>`s; `[]` for the report's place). */
  file(path: string, roots?: string[]): FileCoverage {
    const k = this.key(path, roots)
    let f = this.files.get(k)
    if (!f) this.files.set(k, (f = { lines: new Map(), branches: new Map() }))
    return f
  }

  line(f: FileCoverage, key: string, hits: number, weight = 1): void {
    if (!Number.isFinite(hits)) return
    const old = f.lines.get(key)
    f.lines.set(key, {
      hits: Math.max(old?.hits ?? 0, hits),
      weight: Math.max(old?.weight ?? 0, weight)
    })
  }

  branch(f: FileCoverage, key: string, hits: number): void {
    f.branches.set(key, Math.max(f.branches.get(key) ?? 0, Number.isFinite(hits) ? hits : 0))
  }

  totals(path: string, lines: Counts, branches: Counts): void {
    const k = this.key(path)
    const old = this.fileTotals.get(k)
    // Without line detail the best merge is the better of the two counts for the file.
    if (!old || lines.covered > old.lines.covered) this.fileTotals.set(k, { lines, branches })
  }

  report(format: CoverageFormat): CoverageReport {
    const summary = mergeCoverage([{ files: this.files, fileTotals: this.fileTotals }])
    return { format, files: this.files, fileTotals: this.fileTotals, ...summary }
  }
}

/** lcov: SF, DA and BRDA records; a file named twice (several test runs) is merged. */
function parseLcov(text: string, file: string, c: Collector): void {
  let current: FileCoverage | undefined
  let path = ''
  let record = { lf: NaN, lh: NaN, da: 0 }
  let records = 0
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line.startsWith('SF:')) {
      path = line.slice(3)
      current = c.file(path, [])
    } else if (line.startsWith('DA:') && current) {
      const [n, hits] = line.slice(3).split(',')
      c.line(current, n, Number(hits))
      record.da++
    } else if (line.startsWith('BRDA:') && current) {
      const [n, block, branch, taken] = line.slice(5).split(',')
      c.branch(current, `${n}:${block}:${branch}`, taken === '-' ? 0 : Number(taken))
    } else if (line.startsWith('LF:')) record.lf = Number(line.slice(3))
    else if (line.startsWith('LH:')) record.lh = Number(line.slice(3))
    else if (line === 'end_of_record') {
      // A record with counts but no DA lines (some generators) counts by its LF/LH.
      if (record.da === 0 && Number.isFinite(record.lf) && Number.isFinite(record.lh) && path)
        c.totals(path, { covered: record.lh, total: record.lf }, { covered: 0, total: 0 })
      records++
      current = undefined
      record = { lf: NaN, lh: NaN, da: 0 }
    }
  }
  if (records === 0)
    throw new ToolError(`coverage report ${file} has no lcov record (no end_of_record line)`)
}

function parseIstanbulSummary(text: string, file: string, c: Collector): void {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new ToolError(`coverage report ${file} is not valid JSON: ${(e as Error).message}`)
  }
  const entries = Object.entries((doc ?? {}) as Record<string, unknown>)
  const counts = (v: unknown): Counts | undefined => {
    const o = v as { total?: unknown; covered?: unknown } | undefined
    return typeof o?.total === 'number' && typeof o.covered === 'number'
      ? { covered: o.covered, total: o.total }
      : undefined
  }
  const total = counts((doc as { total?: { lines?: unknown } })?.total?.lines)
  if (!total)
    throw new ToolError(
      `coverage report ${file} is JSON but not an Istanbul json-summary (no total.lines.total/covered)`
    )
  const perFile = entries.filter(([k]) => k !== 'total')
  // A summary written without per-file entries still counts, as one pseudo-file.
  const rows: [string, unknown][] =
    perFile.length > 0 ? perFile : [[`(${file})`, (doc as XmlNode).total]]
  for (const [path, v] of rows) {
    const o = v as { lines?: unknown; branches?: unknown }
    const lines = counts(o.lines)
    if (lines) c.totals(path, lines, counts(o.branches) ?? { covered: 0, total: 0 })
  }
}

/** Cobertura (coverage.py, jest, gcovr): per class file, line hits and condition coverage. */
function parseCobertura(root: XmlNode, c: Collector, file: string): void {
  const before = c.files.size
  const listed = (root.sources as XmlNode | undefined)?.source
  const roots = (Array.isArray(listed) ? (listed as unknown[]) : [listed])
    .map((r) => (typeof r === 'string' ? r.trim() : ''))
    .filter((r) => r !== '')
  for (const pkg of arr((root.packages as XmlNode | undefined)?.package))
    for (const cls of arr((pkg.classes as XmlNode | undefined)?.class)) {
      const f = c.file(String(cls.filename ?? cls.name ?? ''), roots)
      for (const line of arr((cls.lines as XmlNode | undefined)?.line)) {
        const n = String(line.number)
        c.line(f, n, num(line.hits))
        const cond = /\((\d+)\/(\d+)\)/.exec(String(line['condition-coverage'] ?? ''))
        if (line.branch === 'true' && cond)
          for (let i = 0; i < Number(cond[2]); i++)
            c.branch(f, `${n}:${i}`, i < Number(cond[1]) ? 1 : 0)
      }
    }
  // Only the root's counts (a summary-style report): they count as one pseudo-file.
  if (c.files.size === before && root['lines-valid'] !== undefined) {
    const lines = { covered: num(root['lines-covered']), total: num(root['lines-valid']) }
    if (!Number.isFinite(lines.covered) || !Number.isFinite(lines.total))
      throw new ToolError(
        `Cobertura report ${file} has no lines-valid/lines-covered counts on <coverage>`
      )
    const b = {
      covered: num(root['branches-covered']) || 0,
      total: num(root['branches-valid']) || 0
    }
    c.totals(`(${file})`, lines, b)
  }
}

/** JaCoCo XML: per source file, `ci`/`mi` instructions and `cb`/`mb` branches of each line. */
function parseJacoco(root: XmlNode, c: Collector): void {
  // Groups nest (JaCoCo's DTD: group holds groups or packages; Ant and aggregate reports nest them).
  const packagesOf = (node: XmlNode, depth: number): XmlNode[] =>
    depth > 20
      ? []
      : [...arr(node.package), ...arr(node.group).flatMap((g) => packagesOf(g, depth + 1))]
  const packages = packagesOf(root, 0)
  for (const pkg of packages)
    for (const src of arr(pkg.sourcefile)) {
      const f = c.file(`${String(pkg.name ?? '')}/${String(src.name ?? '')}`.replace(/^\//, ''))
      for (const line of arr(src.line)) {
        const n = String(line.nr)
        c.line(f, n, num(line.ci))
        const cb = num(line.cb) || 0
        const mb = num(line.mb) || 0
        for (let i = 0; i < cb + mb; i++) c.branch(f, `${n}:${i}`, i < cb ? 1 : 0)
      }
    }
}

/** Clover XML (jest's default `clover` reporter): stmt and cond lines per file. */
function parseClover(root: XmlNode, c: Collector): void {
  const project = arr(root.project)[0] ?? {}
  const files = [...arr(project.file), ...arr(project.package).flatMap((p) => arr(p.file))]
  for (const file of files) {
    const f = c.file(String(file.path ?? file.name ?? ''))
    for (const line of arr(file.line)) {
      const n = String(line.num)
      if (line.type !== 'stmt' && line.type !== 'cond') continue
      c.line(f, n, num(line.count))
      // istanbul writes a cond line's covered branches as truecount, the others as falsecount.
      if (line.type === 'cond') {
        const covered = num(line.truecount) || 0
        const all = covered + (num(line.falsecount) || 0)
        for (let i = 0; i < all; i++) c.branch(f, `${n}:${i}`, i < covered ? 1 : 0)
      }
    }
  }
}

/** `go test -coverprofile`: statement blocks `file:l.c,l.c stmts count`, as `go tool cover` counts. */
function parseGoProfile(text: string, file: string, c: Collector): void {
  let blocks = 0
  for (const raw of text.split(/\r?\n/).slice(1)) {
    const m = /^(.+):(\d+\.\d+,\d+\.\d+) (\d+) (\d+)$/.exec(raw.trim())
    if (!m) continue
    c.line(c.file(m[1]), m[2], Number(m[4]), Number(m[3]))
    blocks++
  }
  if (blocks === 0) throw new ToolError(`Go coverage profile ${file} has no block`)
}

function parseXmlCoverage(text: string, file: string, c: Collector): CoverageFormat {
  const doc = parseXml(text, file, [])
  if (doc.report && typeof doc.report === 'object') {
    parseJacoco(doc.report as XmlNode, c)
    return 'jacoco'
  }
  const root = doc.coverage as XmlNode | undefined
  if (root && typeof root === 'object' && root.project) {
    parseClover(root, c)
    return 'clover'
  }
  if (
    root &&
    typeof root === 'object' &&
    (root.packages !== undefined || root['lines-valid'] !== undefined)
  ) {
    parseCobertura(root, c, file)
    return 'cobertura'
  }
  throw new ToolError(
    `coverage report ${file} is XML but not Cobertura, Clover or JaCoCo (root <${Object.keys(doc)[0] ?? 'none'}>)`
  )
}

/**
 * Reads a coverage report, telling the format from its content rather than its name. Paths
 * inside `workDir` are made relative to it, so reports naming a file differently still merge.
 */
export function parseCoverage(text: string, file: string, workDir?: string): CoverageReport {
  const start = text.trimStart()
  if (start === '') throw new ToolError(`coverage report ${file} is empty`)
  const c = new Collector(workDir, file)
  if (start.startsWith('{')) {
    parseIstanbulSummary(text, file, c)
    return c.report('istanbul-json-summary')
  }
  if (start.startsWith('<')) {
    const format = parseXmlCoverage(text, file, c)
    if (c.files.size === 0 && c.fileTotals.size === 0)
      throw new ToolError(`${format} coverage report ${file} covers no source file`)
    return c.report(format)
  }
  if (/^mode: (set|count|atomic)\s*$/m.test(start.split('\n')[0])) {
    parseGoProfile(text, file, c)
    return c.report('go-coverprofile')
  }
  if (/^(TN|SF):/m.test(text)) {
    parseLcov(text, file, c)
    return c.report('lcov')
  }
  throw new ToolError(
    `coverage report ${file}: unknown format (expected lcov, Cobertura, Clover or JaCoCo XML, Istanbul json-summary or a Go coverprofile)`
  )
}

/** Lines and branches over all reports, merged by file and line (never added up). */
export function mergeCoverage(reports: Pick<CoverageReport, 'files' | 'fileTotals'>[]): {
  lines: Counts
  branches: Counts
} {
  const merged = new Map<string, FileCoverage>()
  const totalsOnly = new Map<string, { lines: Counts; branches: Counts }>()
  for (const r of reports) {
    for (const [path, f] of r.files) {
      let m = merged.get(path)
      if (!m) merged.set(path, (m = { lines: new Map(), branches: new Map() }))
      for (const [k, v] of f.lines) {
        const old = m.lines.get(k)
        m.lines.set(k, {
          hits: Math.max(old?.hits ?? 0, v.hits),
          weight: Math.max(old?.weight ?? 0, v.weight)
        })
      }
      for (const [k, v] of f.branches) m.branches.set(k, Math.max(m.branches.get(k) ?? 0, v))
    }
    for (const [path, t] of r.fileTotals) {
      const old = totalsOnly.get(path)
      if (!old || t.lines.covered > old.lines.covered) totalsOnly.set(path, t)
    }
  }
  const lines: Counts = { covered: 0, total: 0 }
  const branches: Counts = { covered: 0, total: 0 }
  for (const [path, f] of merged) {
    // A file with line detail somewhere is counted from that detail only.
    if (f.lines.size > 0) totalsOnly.delete(path)
    for (const v of f.lines.values()) {
      lines.total += v.weight
      if (v.hits > 0) lines.covered += v.weight
    }
    for (const hits of f.branches.values()) {
      branches.total++
      if (hits > 0) branches.covered++
    }
  }
  for (const t of totalsOnly.values()) {
    lines.total += t.lines.total
    lines.covered += t.lines.covered
    branches.total += t.branches.total
    branches.covered += t.branches.covered
  }
  return { lines, branches }
}

export function percent(c: Counts): number | undefined {
  return c.total === 0 ? undefined : (c.covered / c.total) * 100
}
