// A job summary as GitHub renders it (GFM, GitHub's CSS, Mermaid), looked at in headless
// Chromium: the verdict is the first heading and the charts are drawn, not left as code.
// The PNGs are kept under artifacts/summaries for CI to upload and for a person to look at.
import { describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { reviewSummary } from '../../src/actions/slo-report/summary.js'
import { REPO_ROOT } from '../../lab/act.js'
import { renderedDom, screenshot, writeSummaryPage } from '../../lab/summary-page.js'
import { judgeService } from '../../src/slo-report/figures.js'

const at = (h: number): Date => new Date(Date.UTC(2026, 10, 23 + Math.floor(h / 24), h % 24))

describe('job summaries rendered as GitHub shows them', () => {
  it('slo-report: the verdict first, two Mermaid charts drawn as SVG, a PNG to look at', async () => {
    const counts = {
      requests: 1_000_000,
      errors: 2500,
      p95Seconds: 0.31,
      peakRps: 180,
      periodSeconds: 604_800
    }
    const goals = {
      availability: 0.999,
      maxErrorRate: 0.001,
      p95Seconds: 0.5,
      minThroughputRps: 100
    }
    const service = judgeService(counts, goals)
    const points = (f: (i: number) => number): { at: Date; value: number }[] =>
      Array.from({ length: 8 }, (_, i) => ({ at: at(i * 24), value: f(i) }))
    const markdown = reviewSummary({
      title: 'SLO review shop (production), 2026-11-23 to 2026-11-30',
      verdict: 'missed',
      figures: service.figures,
      budgetLeft: service.budgetLeft,
      burnRate: service.burnRate,
      period: { start: at(0), end: at(7 * 24) },
      data: {
        counts,
        errorRate: points((i) => (i === 4 ? 0.012 : 0.0004)),
        p95Seconds: points((i) => 0.2 + i * 0.02),
        warnings: []
      },
      bounds: { errorRate: 0.001, p95Seconds: 0.5 },
      truncated: false
    })
    const dir = mkdtempSync(join(tmpdir(), 'ops-summary-'))
    const page = join(dir, 'slo-report.html')
    writeSummaryPage(page, 'slo-report', markdown)
    const dom = await renderedDom(page)
    expect(dom).toContain('data-rendered="yes"')
    // The first heading is the verdict, with what was missed.
    expect(/<h2[^>]*>([^<]*)<\/h2>/.exec(dom)?.[1]).toMatch(
      /^SLO review shop .*: missed: Availability/
    )
    // Mermaid replaced both chart sources with drawn SVGs.
    expect(
      (dom.match(/<pre class="mermaid"[^>]*data-processed="true"[^>]*>\s*<svg/g) ?? []).length
    ).toBe(2)
    const out = join(REPO_ROOT, 'artifacts', 'summaries')
    mkdirSync(out, { recursive: true })
    const png = join(out, 'slo-report.png')
    await screenshot(page, png)
    expect(statSync(png).size).toBeGreaterThan(20_000)
  })
})
