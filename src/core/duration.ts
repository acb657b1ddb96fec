const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Parses `500ms`, `30s`, `5m`, `1h30m`, `2d`; returns milliseconds or undefined when malformed. */
export function parseDurationMs(raw: string): number | undefined {
  const text = raw.trim()
  if (text === '0') return 0
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy
  let total = 0
  let consumed = 0
  let match: RegExpExecArray | null
  while ((match = re.exec(text)) !== null) {
    total += Number(match[1]) * UNIT_MS[match[2]]
    consumed = re.lastIndex
  }
  if (consumed === 0 || consumed !== text.length) return undefined
  return Math.round(total)
}

/**
 * Human form of a duration for logs and summaries: 850ms, 12.3s, 4m05s, 26h00m (backup ages
 * and lead times run to hours and days; seconds no longer matter there).
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  if (ms < 3_600_000) {
    const minutes = Math.floor(ms / 60_000)
    const seconds = Math.round((ms % 60_000) / 1000)
    return `${minutes}m${String(seconds).padStart(2, '0')}s`
  }
  const hours = Math.floor(ms / 3_600_000)
  const minutes = Math.floor((ms % 3_600_000) / 60_000)
  return `${hours}h${String(minutes).padStart(2, '0')}m`
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
