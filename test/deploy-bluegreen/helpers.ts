import { Lab } from '../../lab/lab.js'
import { startApp, type AppSlot } from '../../lab/services/app.js'
import { startHaproxy, type HaproxyInstance } from '../../lab/services/haproxy.js'

export type Slots = Record<'blue' | 'green', AppSlot>

export { settledSlotCounts, slotCounts } from '../../lab/slots.js'

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
