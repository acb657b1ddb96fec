/**
 * A paced HTTP load on a loopback URL, bounded in count and time (it stops by itself).
 * Counts answers by slot (the sample app's x-slot header) and failures, so tests and
 * benchmarks can check the traffic split and count failed user requests.
 */
export interface LoadStats {
  sent: number
  ok: number
  failed: number
  bySlot: Record<string, number>
  errors: Record<string, number>
}

export interface LoadOptions {
  ratePerSecond: number
  maxDurationMs: number
  /** Requests in flight at most; beyond that the load waits (a slow server slows it down). */
  concurrency?: number
  /** Called for every answer with the time the request was sent (performance.now()). */
  onResponse?: (sentAt: number, slot: string | undefined, ok: boolean) => void
}

export interface Load {
  stats(): LoadStats
  /** Counters since the last mark (for per-step splits). */
  mark(): LoadStats
  stop(): Promise<LoadStats>
}

function assertLoopback(url: string): void {
  const host = new URL(url).hostname
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== 'localhost' && host !== '[::1]') {
    throw new Error(`load only goes to loopback addresses, not ${host}`)
  }
}

export function startLoad(url: string, options: LoadOptions): Load {
  assertLoopback(url)
  const total: LoadStats = { sent: 0, ok: 0, failed: 0, bySlot: {}, errors: {} }
  let since: LoadStats = { sent: 0, ok: 0, failed: 0, bySlot: {}, errors: {} }
  const concurrency = options.concurrency ?? 64
  const maxRequests = Math.ceil((options.ratePerSecond * options.maxDurationMs) / 1000)
  const started = Date.now()
  let stopped = false
  let inflight = 0
  const add = (s: LoadStats, ok: boolean, slot?: string, error?: string): void => {
    s.sent++
    if (ok) s.ok++
    else s.failed++
    if (slot) s.bySlot[slot] = (s.bySlot[slot] ?? 0) + 1
    if (error) s.errors[error] = (s.errors[error] ?? 0) + 1
  }
  const one = async (): Promise<void> => {
    inflight++
    const sentAt = performance.now()
    let ok = false
    let slot: string | undefined
    let error: string | undefined
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
      await res.arrayBuffer()
      ok = res.status >= 200 && res.status < 300
      slot = res.headers.get('x-slot') ?? undefined
      if (!ok) error = `HTTP ${res.status}`
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } }
      error = err.cause?.code ?? err.name
    } finally {
      inflight--
    }
    add(total, ok, slot, error)
    add(since, ok, slot, error)
    options.onResponse?.(sentAt, slot, ok)
  }
  const loop = (async () => {
    for (let i = 0; i < maxRequests && !stopped; i++) {
      const due = started + (i * 1000) / options.ratePerSecond
      const wait = due - Date.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      while (inflight >= concurrency && !stopped) await new Promise((r) => setTimeout(r, 2))
      if (Date.now() - started > options.maxDurationMs) break
      void one()
    }
    while (inflight > 0) await new Promise((r) => setTimeout(r, 5))
  })()
  return {
    stats: () => structuredClone(total),
    mark: () => {
      const out = since
      since = { sent: 0, ok: 0, failed: 0, bySlot: {}, errors: {} }
      return out
    },
    stop: async () => {
      stopped = true
      await loop
      return structuredClone(total)
    }
  }
}
