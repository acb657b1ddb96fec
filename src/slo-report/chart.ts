// A Mermaid xychart-beta (GitHub renders it in Markdown) of one series over the period, with
// its bound drawn as a second line. Pure.

export interface Point {
  at: Date
  value: number
}

function label(at: Date, spanMs: number): string {
  const iso = at.toISOString()
  return spanMs > 2 * 86_400_000 ? iso.slice(5, 10) : iso.slice(11, 16)
}

/**
 * Renders title, points (undefined values are gaps, drawn as 0 is not: they are left out) and the
 * bound. Returns '' when there is nothing to draw, so the caller shows "no data" instead.
 */
export function xyChart(title: string, unit: string, points: Point[], bound?: number): string {
  const shown = points.filter((p) => Number.isFinite(p.value))
  if (shown.length < 2) return ''
  const span = shown[shown.length - 1].at.getTime() - shown[0].at.getTime()
  const round = (v: number): string => String(Number(v.toPrecision(4)))
  const max = Math.max(...shown.map((p) => p.value), bound ?? 0)
  const lines = [
    '```mermaid',
    'xychart-beta',
    `  title "${title.replace(/"/g, "'")}"`,
    `  x-axis [${shown.map((p) => `"${label(p.at, span)}"`).join(', ')}]`,
    `  y-axis "${unit}" 0 --> ${round(max * 1.1 || 1)}`,
    `  line [${shown.map((p) => round(p.value)).join(', ')}]`
  ]
  if (bound !== undefined) lines.push(`  line [${shown.map(() => round(bound)).join(', ')}]`)
  lines.push('```')
  return lines.join('\n')
}
