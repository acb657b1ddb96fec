/**
 * Gate, summary and SARIF for a synthetic Trivy report of 50,000+ findings built from a real
 * report's entries. Prints time and memory per phase; goal: well under 5 s and 300 MB in all.
 *   node --expose-gc --import tsx bench/scan-large-report.ts [findings]   (or npx tsx ...)
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { analyseReport } from '../src/scan/analyse.js'
import { parseIgnoreFile } from '../src/scan/ignore.js'
import { readReportFile } from '../src/scan/report.js'
import { buildSarif } from '../src/scan/sarif.js'
import { buildScanSummary } from '../src/actions/security-scan/summary.js'
import { syntheticReport } from '../test/fixtures/scan/synthetic-report.js'

// `--write <file> <n>`: the child that generates the report, so its memory is not measured.
if (process.argv[2] === '--write') {
  const n = Number(process.argv[4])
  writeFileSync(
    process.argv[3],
    JSON.stringify(syntheticReport(n, { distinctIds: Math.floor(n / 2) }))
  )
  process.exit(0)
}
const count = Number(process.argv[2] ?? 50_000)
const dir = mkdtempSync(join(tmpdir(), 'scan-bench-'))
const reportFile = join(dir, 'report.json')
execFileSync(process.execPath, [
  ...process.execArgv,
  process.argv[1],
  '--write',
  reportFile,
  String(count)
])

let peakRss = process.memoryUsage().rss
const baseline = peakRss
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5)
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`
const timings: [string, number][] = []
async function phase<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  const started = performance.now()
  const result = await fn()
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  timings.push([name, performance.now() - started])
  return result
}

const started = performance.now()
const report = await phase('read + parse', async () => readReportFile(reportFile, reportFile))
global.gc?.()
// RSS never shrinks after the parse, so the later phases are measured as heap growth.
const afterParse = { heap: process.memoryUsage().heapUsed, at: performance.now() }
let peakHeap = afterParse.heap
const sampler2 = setInterval(
  () => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)),
  5
)
const analysis = await phase('filter + gate', () =>
  analyseReport(report, {
    severities: new Set(['CRITICAL', 'HIGH']),
    ignoreUnfixed: false,
    ignoreRules: parseIgnoreFile('CVE-2001-100001\nCVE-2002-100002 exp:2020-01-01', '.trivyignore'),
    now: new Date()
  })
)
const summary = await phase('summary', () =>
  buildScanSummary({
    title: 'bench',
    facts: [],
    findings: analysis.findings,
    gate: analysis.gate,
    gateSeverities: new Set(['CRITICAL', 'HIGH'])
  })
)
const sarif = await phase('sarif build', () => buildSarif(analysis.findings, report))
await phase('sarif write', () => writeFile(join(dir, 'out.sarif'), sarif.text))
const total = performance.now() - started
const afterParseMs = performance.now() - afterParse.at
peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)
clearInterval(sampler)
clearInterval(sampler2)

console.log(`report: ${count} findings, ${mb(statSync(reportFile).size)} of JSON`)
for (const [name, ms] of timings)
  console.log(`  ${name.padEnd(14)} ${ms.toFixed(0).padStart(6)} ms`)
console.log(
  `gate+summary+SARIF ${afterParseMs.toFixed(0)} ms, heap +${mb(peakHeap - afterParse.heap)} over the parsed report (${mb(afterParse.heap)} heap)`
)
console.log(
  `whole pipeline     ${total.toFixed(0)} ms, peak RSS ${mb(peakRss)} (process start ${mb(baseline)})`
)
console.log('goal: well under 5000 ms and 300 MB')
console.log(
  `gate: ${analysis.gate.failing.length} failing of ${analysis.gate.counts.total}; summary ${(Buffer.byteLength(summary) / 1024).toFixed(0)} KiB; ` +
    `SARIF ${sarif.included} results (${sarif.omitted} omitted), ${mb(Buffer.byteLength(sarif.text))} raw, ${(sarif.gzipBytes / 1024 / 1024).toFixed(1)} MB gzip`
)
rmSync(dir, { recursive: true, force: true })
