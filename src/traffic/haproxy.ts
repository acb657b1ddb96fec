import { createConnection } from 'node:net'
import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import { takeDirectoryLock } from './lock.js'
import type { ChangeMeta, Release, Router, RouterState } from './router.js'
import { SLOTS, type Slot, type Weights } from './slots.js'
import { writeFileAtomic, type Transport } from './transport.js'

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

const TCP_ADDRESS = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/

/**
 * One runtime API exchange: send a line of commands, read until HAProxy closes. `target` is a
 * unix socket path or host:port. The lab and the tests use it too.
 */
export function runtimeApiCommand(target: string, command: string): Promise<string> {
  const tcp = !target.startsWith('/') ? TCP_ADDRESS.exec(target) : null
  return new Promise((resolve, reject) => {
    const conn = tcp
      ? createConnection({ host: tcp[1].replace(/^\[|\]$/g, ''), port: Number(tcp[2]) })
      : createConnection(target)
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
    return TCP_ADDRESS.test(this.options.socket) && !this.options.socket.startsWith('/')
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
      throw new ToolError(`${this.name}: runtime API unreachable: ${(error as Error).message}`)
    }
  }

  async read(): Promise<RouterState> {
    const { backend, servers } = this.options
    const table = parseServersState(await this.api(`show servers state ${backend}`), backend)
    const weights = {} as Weights
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
    }
    const vars = await this.api(`get var ${VAR_PREVIOUS}`)
    const prev = /value=<(blue|green)>/.exec(vars)?.[1] as Slot | undefined
    const changed = /value=<([^>]*)>/.exec(await this.api(`get var ${VAR_CHANGED}`))?.[1]
    return { weights, previous: prev, changedAt: changed, detail: this.name }
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
    if (answer && !/^\s*$/.test(answer.replace(/\n/g, ''))) {
      // HAProxy prints nothing on success; any text is an error or a warning.
      log.warning(`${this.name}: ${answer}`)
    }
    const after = await this.read()
    if (after.weights.blue !== weights.blue || after.weights.green !== weights.green) {
      throw new ToolError(
        `${this.name}: asked for blue ${weights.blue} / green ${weights.green}, HAProxy reports ` +
          `blue ${after.weights.blue} / green ${after.weights.green}${answer ? ` (${answer})` : ''}`
      )
    }
    if (this.options.stateFile) await this.saveStateFile()
  }

  /** Writes `show servers state` where `server-state-file` points, so a reload keeps the weights. */
  async saveStateFile(): Promise<void> {
    const state = await this.api('show servers state')
    await writeFileAtomic(this.options.transport, this.options.stateFile!, state)
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
    throw new ToolError(`HAProxy has no backend \`${backend}\``)
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
    throw new ToolError(`HAProxy has no backend \`${backend}\``)
  }
  return rows
}
