import { get as httpGet } from 'node:http'
import { Lab } from '../../lab/lab.js'
import { startApp, type AppSlot } from '../../lab/services/app.js'
import { startHaproxy, type HaproxyInstance } from '../../lab/services/haproxy.js'

export type Slots = Record<'blue' | 'green', AppSlot>

export { slotCounts } from '../../lab/slots.js'

export async function haproxyLab(
  lab: Lab,
  options: {
    live?: 'blue' | 'green'
    name?: string
    stateFile?: boolean
    app?: Slots
    tcpApi?: boolean
  } = {}
): Promise<{ app: Slots; haproxy: HaproxyInstance }> {
  const app = options.app ?? (await startApp(lab))
  const live = options.live ?? 'blue'
  const haproxy = await startHaproxy(lab, {
    name: options.name,
    stateFile: options.stateFile,
    tcpApi: options.tcpApi,
    servers: [
      { name: 'blue', address: `127.0.0.1:${app.blue.port}`, weight: live === 'blue' ? 100 : 0 },
      { name: 'green', address: `127.0.0.1:${app.green.port}`, weight: live === 'green' ? 100 : 0 }
    ]
  })
  return { app, haproxy }
}

/** Inputs for deploy-bluegreen on a lab HAProxy, fast timings for tests. */
export function haproxyInputs(
  app: Slots,
  sockets: string[],
  extra: Record<string, string> = {}
): Record<string, string> {
  return {
    router: 'haproxy',
    'haproxy-socket': sockets.join(','),
    'health-url-blue': `${app.blue.url}/healthz`,
    'health-url-green': `${app.green.url}/healthz`,
    'health-checks': '2',
    'health-interval': '100ms',
    'health-timeout': '3s',
    ...extra
  }
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
