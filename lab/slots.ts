import { get as httpGet } from 'node:http'

/**
 * Asks a router `n` times (one after another) which slot answered: counts by the sample app's
 * `x-slot` header, or `status-<code>` for an answer without it (the router's own error page).
 */
export async function slotCounts(url: string, n = 20): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (let i = 0; i < n; i++) {
    const res = await fetch(url)
    await res.arrayBuffer()
    const key = res.headers.get('x-slot') ?? `status-${res.status}`
    counts[key] = (counts[key] ?? 0) + 1
  }
  return counts
}

/** One request on a fresh connection (no pooled keep-alive to an old nginx worker). */
function freshSlot(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false, timeout: 5_000 }, (res) => {
      res.resume()
      res.on('end', () => {
        const slot = res.headers['x-slot']
        resolve(typeof slot === 'string' ? slot : `status-${res.statusCode}`)
      })
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)))
    req.on('error', reject)
  })
}

/**
 * Waits (bounded) until `n` answers in a row come from `expected`, as a router change is only in
 * effect once the reloaded workers answer; returns the last counts (the test compares them), so
 * a router that never switches shows what it served instead.
 */
export async function settledSlotCounts(
  url: string,
  expected: string,
  { n = 10, timeoutMs = 15_000 }: { n?: number; timeoutMs?: number } = {}
): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs
  let counts: Record<string, number>
  do {
    counts = {}
    for (let i = 0; i < n; i++) {
      const slot = await freshSlot(url).catch(() => 'unreachable')
      counts[slot] = (counts[slot] ?? 0) + 1
    }
    if (counts[expected] === n) return counts
    await new Promise((r) => setTimeout(r, 100))
  } while (Date.now() < deadline)
  return counts
}
