/*
 * What sequential analysis needs to know about the Prometheus server beyond instant values:
 * its scrape interval (the natural poll interval: polling faster only re-reads the same
 * samples) and the histogram's bucket bounds (to count requests above the latency SLO).
 */
import { parseDurationMs } from '../core/duration.js'
import { ToolError } from '../core/errors.js'
import { callPrometheusWhole, type PrometheusOptions } from './prometheus-api.js'

/** `global.scrape_interval` from the running configuration (Prometheus's default is 1m). */
export function parseScrapeInterval(yaml: string): number {
  const global = /^global:\s*\n((?:[ \t]+.*\n?)*)/m.exec(yaml)?.[1] ?? ''
  const raw = /^\s+scrape_interval:\s*['"]?([0-9a-z]+)/m.exec(global)?.[1]
  const ms = raw === undefined ? 60_000 : parseDurationMs(raw)
  if (ms === undefined || ms <= 0)
    throw new ToolError(`Prometheus scrape_interval \`${raw}\` not understood`)
  return ms
}

export async function scrapeIntervalMs(o: PrometheusOptions): Promise<number> {
  const data = (await callPrometheusWhole(o, 'api/v1/status/config')) as { yaml?: string }
  return parseScrapeInterval(data.yaml ?? '')
}

/**
 * The bucket to count "fast" requests with: the smallest `le` at or above the bound, so a
 * request is counted slow only when it surely exceeded the bound (a coarser bucket makes the
 * test more lenient, never stricter). undefined when the histogram has no such bucket.
 */
export function chooseBucket(les: string[], boundSeconds: number): string | undefined {
  const finite = les
    .map((le) => ({ le, v: Number(le) }))
    .filter((b) => Number.isFinite(b.v) && b.v >= boundSeconds - 1e-12)
    .sort((a, b) => a.v - b.v)
  return finite[0]?.le
}

/**
 * Where the bound falls among the histogram's buckets: on a bucket boundary (a count at the
 * bound is exact), or inside (low, high] (histogram_quantile interpolates there, so that
 * bucket is the answer's resolution). undefined when the buckets are not known.
 */
export function bucketAround(
  les: string[],
  boundSeconds: number
): { low: number; high: number } | 'boundary' | undefined {
  const values = les
    .map(Number)
    .filter((v) => !Number.isNaN(v) && v >= 0)
    .sort((a, b) => a - b)
  if (!values.length) return undefined
  if (values.some((v) => Math.abs(v - boundSeconds) < 1e-9)) return 'boundary'
  const below = values.filter((v) => v < boundSeconds)
  const above = values.filter((v) => v > boundSeconds)
  return { low: below.length ? below[below.length - 1] : 0, high: above[0] ?? Infinity }
}

export async function bucketBounds(o: PrometheusOptions, series: string): Promise<string[]> {
  const query = `count by (le) (${series})`
  const data = (await callPrometheusWhole(o, 'api/v1/query', { query }, 'GET')) as {
    result?: { metric: { le?: string } }[]
  }
  return (data.result ?? []).map((r) => r.metric.le).filter((le): le is string => !!le)
}

/**
 * Several sums in ONE instant query, each tagged by label `m`: Prometheus answers a query from
 * one consistent view (a scrape is seen whole or not at all), so the counters can be subtracted
 * from each other. Separate queries can straddle a scrape: `count - fast` then counts a whole
 * second of new requests as slow. Missing sums are simply absent from the answer.
 */
export function taggedSums(sums: Record<string, string>): string {
  return Object.entries(sums)
    .map(([tag, expr]) => `label_replace(${expr}, "m", "${tag}", "", "")`)
    .join(' or ')
}

export async function readTagged(
  o: PrometheusOptions,
  query: string
): Promise<Record<string, number>> {
  const data = (await callPrometheusWhole(o, 'api/v1/query', { query }, 'GET')) as {
    resultType?: string
    result?: { metric: { m?: string }; value: [number, string] }[]
  }
  const out: Record<string, number> = {}
  for (const r of data.result ?? []) {
    const v = Number(r.value[1])
    if (r.metric.m && Number.isFinite(v)) out[r.metric.m] = v
  }
  return out
}
