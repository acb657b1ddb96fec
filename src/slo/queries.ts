import { ConfigurationError } from '../core/errors.js'

/**
 * 5xx requests of the slot in the window, for a status label named `label`. Series present at
 * the window's start count by increase(); a series born inside the window (a client library
 * that creates the 5xx series at the first error) counts with its whole value, which increase()
 * would miss. Zero is reported only while the slot has series carrying that label at all, so a
 * wrong label name is "no data", never "no errors".
 */
export function errorsBy(label: string, metric = 'http_requests_total'): string {
  const m = `${metric}{ {{selector}}, ${label}=~"5.." }`
  return (
    `((sum(increase(${m}[{{interval}}]) and ${m} offset {{interval}}) or vector(0))` +
    ` + (sum(${m} unless ${m} offset {{interval}}) or vector(0)))` +
    ` and on() (count(${metric}{ {{selector}}, ${label}=~".+" }) > 0)`
  )
}

/**
 * Default PromQL for the lab app's metrics (and any app exporting the same conventional names):
 * `http_requests_total{status}` and the `http_request_duration_seconds` histogram. Placeholders:
 * `{{selector}}` (the label matchers of the slot judged) and `{{interval}}` (the window).
 */
export const DEFAULT_QUERIES = {
  requests: 'sum(increase(http_requests_total{ {{selector}} }[{{interval}}]))',
  // The status code in `status` (this project's sample app) or `code` (Prometheus' client_golang).
  errors: `(${errorsBy('status')}) or (${errorsBy('code')})`,
  p95: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{ {{selector}} }[{{interval}}])))'
} as const

/**
 * The PromQL window: at least two scrapes, or a rate over it may hold one sample (no answer)
 * and a counter's first increment is lost. Returns the window and, when widened, why.
 */
export function analysisWindow(
  intervalMs: number,
  scrapeMs: number | undefined
): { windowMs: number; note?: string } {
  if (scrapeMs === undefined || intervalMs >= 2 * scrapeMs) return { windowMs: intervalMs }
  return {
    windowMs: 2 * scrapeMs,
    note: `analysis-interval ${Math.round(intervalMs / 1000)}s is shorter than two scrapes (scrape interval ${Math.round(scrapeMs / 1000)}s): queries use a ${Math.round((2 * scrapeMs) / 1000)}s window`
  }
}

export interface QueryTemplates {
  requests: string
  errors: string
  p95: string
}

const PLACEHOLDER = /\{\{\s*([a-z-]+)\s*\}\}/g

/** Fills `{{name}}` placeholders; an unknown one is a configuration error, not a silent blank. */
export function renderQuery(
  input: string,
  template: string,
  values: Record<string, string>
): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    if (!(name in values)) {
      throw new ConfigurationError(
        `input \`${input}\` uses {{${name}}}; known placeholders: ${Object.keys(values)
          .map((k) => `{{${k}}}`)
          .join(', ')}`,
        input
      )
    }
    return values[name]
  })
}

/** Prometheus range selectors take whole seconds or more (5s, 1m). */
export function promDuration(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))}s`
}

export type Comparator = '<' | '<=' | '>' | '>=' | '=='

export interface ExtraCheck {
  name: string
  query: string
  op: Comparator
  bound: number
}

/** `name: <PromQL> <op> <number>` per line, e.g. `cpu: max(rate(cpu_seconds{ {{selector}} }[1m])) < 0.8`. */
export function parseExtraChecks(raw: string): ExtraCheck[] {
  const checks: ExtraCheck[] = []
  for (const line of raw.split(/\r?\n/).map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue
    const m =
      /^([A-Za-z0-9_. -]+?)\s*:\s*(.+?)\s*(<=|>=|==|<|>)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)$/.exec(line)
    if (!m) {
      throw new ConfigurationError(
        `input \`extra-checks\` line \`${line}\`: expected \`name: <PromQL> <op> <number>\` with op one of < <= > >= ==, ` +
          'for example `cpu: max(rate(process_cpu_seconds_total{ {{selector}} }[1m])) < 0.8`',
        'extra-checks'
      )
    }
    checks.push({ name: m[1], query: m[2], op: m[3] as Comparator, bound: Number(m[4]) })
  }
  return checks
}

export function compare(value: number, op: Comparator, bound: number): boolean {
  switch (op) {
    case '<':
      return value < bound
    case '<=':
      return value <= bound
    case '>':
      return value > bound
    case '>=':
      return value >= bound
    case '==':
      return value === bound
  }
}
