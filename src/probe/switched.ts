import { sleep } from '../core/duration.js'

export interface SwitchedOptions {
  /** Response header whose value names the slot that answered (e.g. `x-slot`). */
  header: string
  consecutive: number
  intervalMs: number
  timeoutMs: number
  requestTimeoutMs: number
}

export interface SwitchedResult {
  done: boolean
  requests: number
  /** Answers from the other slot (or without the header): "not switched yet", not failures. */
  notYet: number
  elapsedMs: number
  last?: string
}

/**
 * A reload can return before the new configuration serves (nginx starts new workers, the old
 * ones finish their connections). The switch counts as done only once `consecutive` answers in
 * a row come from the target slot; until then an answer from the old slot is "not yet".
 */
export async function waitForSlot(
  url: string,
  slot: string,
  o: SwitchedOptions
): Promise<SwitchedResult> {
  const started = Date.now()
  let streak = 0
  let requests = 0
  let notYet = 0
  let last: string | undefined
  for (;;) {
    requests++
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(o.requestTimeoutMs),
        redirect: 'manual'
      })
      await res.arrayBuffer()
      last = res.headers.get(o.header) ?? `no ${o.header} header (HTTP ${res.status})`
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } }
      last = e.cause?.code ?? e.message
    }
    if (last === slot) streak++
    else {
      streak = 0
      notYet++
    }
    const elapsedMs = Date.now() - started
    if (streak >= o.consecutive) return { done: true, requests, notYet, elapsedMs, last }
    if (elapsedMs + o.intervalMs > o.timeoutMs)
      return { done: false, requests, notYet, elapsedMs, last }
    await sleep(o.intervalMs)
  }
}
