import { fileURLToPath } from 'node:url'
import type { Lab } from '../lab.js'
import { freePort, withFreshPorts } from '../ports.js'
import { httpOk, type ManagedProcess } from '../process.js'

export type Slot = 'blue' | 'green'

export interface AppFaults {
  errorRate?: number
  latencyMs?: number
  healthy?: boolean
  version?: string
}

export interface AppSlot {
  slot: Slot
  port: number
  url: string
  process: ManagedProcess
  /** Changes behaviour at run time (fault injection). */
  control(faults: AppFaults): Promise<void>
}

const script = fileURLToPath(new URL('../sample-app.mjs', import.meta.url))

async function startAppSlotOnce(lab: Lab, slot: Slot, faults: AppFaults = {}): Promise<AppSlot> {
  const port = await freePort()
  const args = [`--slot=${slot}`, `--port=${port}`, `--version=${faults.version ?? 'v1'}`]
  if (faults.errorRate) args.push(`--error-rate=${faults.errorRate}`)
  if (faults.latencyMs) args.push(`--latency-ms=${faults.latencyMs}`)
  if (faults.healthy === false) args.push('--healthy=false')
  const proc = lab.spawn(`app-${slot}`, [process.execPath, script, ...args])
  const url = `http://127.0.0.1:${port}`
  await proc.waitReady(() => httpOk(`${url}/metrics`), 10_000)
  return {
    slot,
    port,
    url,
    process: proc,
    async control(next) {
      const res = await fetch(`${url}/__control`, { method: 'POST', body: JSON.stringify(next) })
      if (!res.ok) throw new Error(`control ${slot}: ${res.status} ${await res.text()}`)
      await res.arrayBuffer().catch(() => undefined)
    }
  }
}

/** The slot's server on a free port (picked again if another process took it meanwhile). */
export function startAppSlot(lab: Lab, slot: Slot, faults: AppFaults = {}): Promise<AppSlot> {
  return withFreshPorts(() => startAppSlotOnce(lab, slot, faults))
}

/** Both slots of the sample service. */
export async function startApp(
  lab: Lab,
  faults: Partial<Record<Slot, AppFaults>> = {}
): Promise<Record<Slot, AppSlot>> {
  const [blue, green] = await Promise.all([
    startAppSlot(lab, 'blue', faults.blue),
    startAppSlot(lab, 'green', { version: 'v2', ...faults.green })
  ])
  return { blue, green }
}
