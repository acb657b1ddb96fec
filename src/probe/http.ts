import { sleep } from '../core/duration.js'

export interface ProbeResult {
  ok: boolean
  status?: number
  ms: number
  error?: string
  /**
   * The first attempt hit a reused keep-alive connection that the server closed (an old nginx
   * worker shutting down after a reload) and the GET was sent once more: what `error` was then.
   */
  resetRetried?: string
  /** The value of the header asked for (`slotHeader`), when the answer had it. */
  slot?: string
}

/** Errors of a reused connection closed under the request (not an answer from the service). */
const CONNECTION_RESET = /^(ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED|other side closed)$/

/**
 * One GET; ok means a 2xx within the timeout. A GET is idempotent, so a reset of a reused
 * keep-alive connection is retried once and reported apart (`resetRetried`): it is real for
 * clients that do not retry, but it says nothing about the new slot.
 */
export async function probe(
  url: string,
  timeoutMs: number,
  slotHeader?: string
): Promise<ProbeResult> {
  const first = await probeOnce(url, timeoutMs, slotHeader)
  if (first.ok || !first.error || !CONNECTION_RESET.test(first.error)) return first
  const second = await probeOnce(url, timeoutMs, slotHeader)
  return { ...second, ms: first.ms + second.ms, resetRetried: first.error }
}

async function probeOnce(
  url: string,
  timeoutMs: number,
  slotHeader?: string
): Promise<ProbeResult> {
  const started = performance.now()
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' })
    await res.arrayBuffer()
    return {
      ok: res.status >= 200 && res.status < 300,
      status: res.status,
      ms: performance.now() - started,
      slot: slotHeader ? (res.headers.get(slotHeader) ?? undefined) : undefined
    }
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } }
    const why =
      e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message)
    return { ok: false, ms: performance.now() - started, error: why }
  }
}

export interface HealthGateOptions {
  consecutive: number
  intervalMs: number
  timeoutMs: number
  /** Per-request timeout. */
  requestTimeoutMs?: number
}

export interface HealthGateResult {
  passed: boolean
  attempts: number
  successes: number
  elapsedMs: number
  last?: ProbeResult
}

/** Passes after `consecutive` successes in a row; any failure resets the count. */
export async function waitHealthy(
  url: string,
  options: HealthGateOptions
): Promise<HealthGateResult> {
  const started = Date.now()
  let attempts = 0
  let streak = 0
  let last: ProbeResult | undefined
  const requestTimeout =
    options.requestTimeoutMs ?? Math.min(5000, Math.max(1000, options.intervalMs))
  for (;;) {
    attempts++
    last = await probe(url, requestTimeout)
    streak = last.ok ? streak + 1 : 0
    if (streak >= options.consecutive) {
      return { passed: true, attempts, successes: streak, elapsedMs: Date.now() - started, last }
    }
    if (Date.now() - started + options.intervalMs > options.timeoutMs) {
      return { passed: false, attempts, successes: streak, elapsedMs: Date.now() - started, last }
    }
    await sleep(options.intervalMs)
  }
}

export function describeProbe(p: ProbeResult | undefined): string {
  if (!p) return 'no probe'
  if (p.error) return p.error
  return `HTTP ${p.status} in ${Math.round(p.ms)} ms`
}
