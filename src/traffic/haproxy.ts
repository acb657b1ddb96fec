import { createConnection } from 'node:net'
import { ConfigurationError, ToolError } from '../core/errors.js'
import { splitHostPort } from '../core/inputs.js'
import { log } from '../core/log.js'
import { takeDirectoryLock } from './lock.js'
import type { ChangeMeta, Release, Router, RouterState, SlotHealth } from './router.js'
import { SLOTS, type Slot, type Weights } from './slots.js'
import { readFile, writeFileAtomic, type Transport } from './transport.js'

export interface HaproxyRouterOptions {
  /** Unix socket path (reached through the transport) or host:port of a TCP runtime API. */
  socket: string
  backend: string
  servers: Record<Slot, string>
  stateFile?: string
  transport: Transport
}

/** Process-level variables where the router records the previous slot (lost on reload). */
const VAR_PREVIOUS = 'proc.opsactions_previous'
const VAR_CHANGED = 'proc.opsactions_changed'

/**
 * One runtime API exchange: send a line of commands, read until HAProxy closes. `target` is a
 * unix socket path or host:port. The lab and the tests use it too.
 */
export function runtimeApiCommand(target: string, command: string): Promise<string> {
  const tcp = !target.startsWith('/') ? splitHostPort(target) : undefined
  return new Promise((resolve, reject) => {
    const conn = tcp ? createConnection(tcp) : createConnection(target)
    let out = ''
    conn.setTimeout(5000, () => conn.destroy(new Error('no answer within 5s')))
    conn.on('connect', () => conn.end(`${command}\n`))
    conn.on('data', (d) => (out += d))
    conn.on('end', () => resolve(out))
    conn.on('error', reject)
  })
}

/**
 * HAProxy through its runtime API: `set weight` changes the share of new requests at once,
 * with no reload and no dropped connection. A switch sends one command line, so HAProxy applies
 * "raise the new slot, then zero the old one" even if this process dies right after sending it.
 */
export class HaproxyRouter implements Router {
  readonly name: string

  constructor(private readonly options: HaproxyRouterOptions) {
    this.name = `haproxy ${options.socket} (${options.transport.name}) backend ${options.backend}`
  }

  private get isTcp(): boolean {
    return !this.options.socket.startsWith('/') && splitHostPort(this.options.socket) !== undefined
  }

  /** Sends one line of runtime API commands and returns the answer. */
  async api(command: string): Promise<string> {
    const { socket, transport } = this.options
    try {
      if (this.isTcp || transport.name === 'local') return await runtimeApiCommand(socket, command)
      const result = await transport.run(['socat', 'stdio', `unix-connect:${socket}`], {
        input: `${command}\n`
      })
      if (result.code !== 0) throw new Error(result.stderr.trim() || `socat exited ${result.code}`)
      return result.stdout
    } catch (error) {
      // Unreachable is "could not run" (exit 3); the message names the input to check.
      throw new ToolError(
        `${this.name}: runtime API unreachable (input \`haproxy-socket\` = \`${socket}\`; expected a \`stats socket ... level admin\` path or host:port): ${(error as Error).message}`
      )
    }
  }

  async read(): Promise<RouterState> {
    const { backend, servers } = this.options
    const table = parseServersState(await this.api(`show servers state ${backend}`), backend)
    const weights = {} as Weights
    const health: Partial<Record<Slot, SlotHealth>> = {}
    for (const slot of SLOTS) {
      const row = table.get(servers[slot])
      if (!row) {
        throw new ToolError(
          `${this.name}: backend \`${backend}\` has no server \`${servers[slot]}\` (for slot ${slot}); ` +
            `servers there: ${[...table.keys()].join(', ') || 'none'}`
        )
      }
      // A server in maintenance (admin state bit 0x01/0x04) takes no traffic whatever its weight.
      weights[slot] = row.adminState & 0x05 ? 0 : row.weight
      // srv_op_state 0 = stopped: HAProxy's checks (or an operator) marked it down.
      health[slot] = {
        up: row.opState !== 0,
        detail: `${servers[slot]} ${row.opState === 0 ? 'down' : 'up'} (srv_op_state ${row.opState})`
      }
    }
    const vars = await this.api(`get var ${VAR_PREVIOUS}`)
    let prev = /value=<(blue|green)>/.exec(vars)?.[1] as Slot | undefined
    let changed = /value=<([^>]*)>/.exec(await this.api(`get var ${VAR_CHANGED}`))?.[1]
    if (!prev) {
      // Variables are lost on reload; the side record survives it (when it matches the weights).
      const record = await this.readSideRecord()
      if (
        record &&
        record.weights.blue === weights.blue &&
        record.weights.green === weights.green
      ) {
        prev = record.previous
        changed = record.changed
      }
    }
    return { weights, previous: prev, changedAt: changed, health, detail: this.name }
  }

  /** `<state file>.ops-actions.json`: the previous slot next to the weights a reload restores. */
  private get sideRecordPath(): string | undefined {
    return this.options.stateFile ? `${this.options.stateFile}.ops-actions.json` : undefined
  }

  private async readSideRecord(): Promise<SideRecord | undefined> {
    if (!this.sideRecordPath) return undefined
    const text = await readFile(this.options.transport, this.sideRecordPath).catch(() => undefined)
    return text === undefined ? undefined : parseSideRecord(text)
  }

  async setWeights(weights: Weights, meta: ChangeMeta): Promise<void> {
    const { backend, servers } = this.options
    // Raise before lowering, so capacity never dips; one line, so it is applied as a unit.
    const order = [...SLOTS].sort((a, b) => weights[b] - weights[a])
    const now = new Date().toISOString()
    const commands = [
      'experimental-mode on',
      `set var ${VAR_PREVIOUS} str(${meta.previous})`,
      `set var ${VAR_CHANGED} str(${now})`,
      ...order.map((slot) => `set weight ${backend}/${servers[slot]} ${weights[slot]}`),
      ...order
        .filter((slot) => weights[slot] > 0)
        .map((slot) => `set server ${backend}/${servers[slot]} state ready`)
    ]
    const answer = (await this.api(commands.join('; '))).trim()
    // HAProxy prints nothing on success; any text (trimmed above) is an error or a warning.
    if (answer) {
      log.warning(`${this.name}: ${answer}`)
    }
    const after = await this.read()
    if (after.weights.blue !== weights.blue || after.weights.green !== weights.green) {
      throw new ToolError(
        `${this.name}: asked for blue ${weights.blue} / green ${weights.green}, HAProxy reports ` +
          `blue ${after.weights.blue} / green ${after.weights.green}${answer ? ` (${answer})` : ''}`
      )
    }
    if (this.options.stateFile) {
      // The weights are live now: failing to persist them is a warning about the next reload,
      // never a reason to report the change as not made.
      try {
        await this.saveStateFile({ weights, previous: meta.previous, changed: now })
      } catch (error) {
        log.warning(
          `${this.name}: traffic moved (blue ${weights.blue} / green ${weights.green}), but the state file ` +
            `could not be written, so a reload of HAProxy would return to the weights in its configuration: ${(error as Error).message}`
        )
      }
    }
  }

  /**
   * Writes `show servers state` where `server-state-file` points, so a reload keeps the weights,
   * and the side record next to it, so a reload keeps the previous slot too.
   */
  async saveStateFile(record: SideRecord): Promise<void> {
    const state = await this.api('show servers state')
    await writeFileAtomic(this.options.transport, this.options.stateFile!, state)
    await writeFileAtomic(this.options.transport, this.sideRecordPath!, JSON.stringify(record))
  }

  async slotHealth(slot: Slot): Promise<SlotHealth | undefined> {
    return (await this.read()).health?.[slot]
  }

  lock(owner: string, waitMs: number): Promise<Release> {
    if (this.isTcp) {
      log.warning(
        `${this.name}: a TCP runtime API has no file system to lock; rely on the workflow's concurrency group`
      )
      return Promise.resolve(async () => undefined)
    }
    return takeDirectoryLock(
      this.options.transport,
      `${this.options.socket}.ops-actions.lock`,
      owner,
      waitMs
    )
  }
}

export interface SideRecord {
  weights: Weights
  previous: Slot
  changed: string
}

export function parseSideRecord(text: string): SideRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<SideRecord>
    const okSlot = r.previous === 'blue' || r.previous === 'green'
    const okWeights = typeof r.weights?.blue === 'number' && typeof r.weights?.green === 'number'
    return okSlot && okWeights ? (r as SideRecord) : undefined
  } catch {
    return undefined
  }
}

export interface ServerRow {
  name: string
  weight: number
  opState: number
  adminState: number
}

/** Parses `show servers state <backend>` (format version 1) into rows by server name. */
export function parseServersState(text: string, backend: string): Map<string, ServerRow> {
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  if (/^No such backend|Can't find backend/i.test(lines[0] ?? '')) {
    throw new ConfigurationError(
      `input \`haproxy-backend\` = \`${backend}\`: HAProxy has no backend of that name (\`show backend\` lists them)`,
      'haproxy-backend'
    )
  }
  const header = lines.find((l) => l.startsWith('# be_id'))
  if (!header) throw new ToolError(`unexpected answer to show servers state: ${text.slice(0, 200)}`)
  const cols = header.slice(2).split(' ')
  const at = (name: string): number => cols.indexOf(name)
  const rows = new Map<string, ServerRow>()
  for (const line of lines) {
    if (line.startsWith('#') || /^\d+$/.test(line.trim())) continue
    const f = line.split(' ')
    if (f[at('be_name')] !== backend) continue
    rows.set(f[at('srv_name')], {
      name: f[at('srv_name')],
      weight: Number(f[at('srv_uweight')]),
      opState: Number(f[at('srv_op_state')]),
      adminState: Number(f[at('srv_admin_state')])
    })
  }
  if (rows.size === 0 && /No such backend|Can't find/i.test(text)) {
    throw new ConfigurationError(
      `input \`haproxy-backend\` = \`${backend}\`: HAProxy has no backend of that name`,
      'haproxy-backend'
    )
  }
  return rows
}
