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
