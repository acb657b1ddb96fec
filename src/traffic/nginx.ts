import { createConnection } from 'node:net'
import { ToolError } from '../core/errors.js'
import { ChangeQueue } from './change-queue.js'
import { splitHostPort } from '../core/inputs.js'
import { formatCommand } from '../core/exec.js'
import { log } from '../core/log.js'
import { takeDirectoryLock } from './lock.js'
import type { ChangeMeta, Release, Router, RouterState, SlotHealth } from './router.js'
import { SLOTS, type Slot, type Weights } from './slots.js'
import { readFile, writeFileAtomic, type Transport } from './transport.js'

export interface NginxRouterOptions {
  /** The include file this router owns (it rewrites it whole). */
  upstreamFile: string
  upstreamName: string
  servers: Record<Slot, string[]>
  /** Extra directives inside the upstream block, e.g. `keepalive 32;`. */
  upstreamOptions: string[]
  testCommand: string[]
  reloadCommand: string[]
  transport: Transport
}

const HEADER = /^# ops-actions: (.*)$/m

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b)
}

/** Renders the upstream file; the header records the state so the file is the source of truth. */
export function renderUpstream(
  options: Pick<NginxRouterOptions, 'upstreamName' | 'servers' | 'upstreamOptions'>,
  weights: Weights,
  previous: Slot,
  changedAt: string
): string {
  const counts = SLOTS.map((s) => options.servers[s].length)
  // Per-server weights such that each slot's share is its weight, whatever its server count.
  const lcm = (counts[0] * counts[1]) / gcd(counts[0], counts[1])
  const lines = [
    '# Managed by ops-actions (deploy-bluegreen / canary-promote). Edits here are overwritten.',
    `# ops-actions: blue=${weights.blue} green=${weights.green} previous=${previous} changed=${changedAt}`,
    `upstream ${options.upstreamName} {`
  ]
  for (const slot of SLOTS) {
    for (const server of options.servers[slot]) {
      const w = weights[slot] * (lcm / options.servers[slot].length)
      lines.push(
        w > 0
          ? `    server ${server} weight=${w}; # ${slot}`
          : `    server ${server} down; # ${slot}`
      )
    }
  }
  for (const directive of options.upstreamOptions)
    lines.push(`    ${directive.replace(/;?$/, ';')}`)
  lines.push('}', '')
  return lines.join('\n')
}

/** Reads the state back from a file this router wrote, or infers it from a hand-written one. */
export function parseUpstream(
  text: string,
  servers: Record<Slot, string[]>
): Omit<RouterState, 'detail'> {
  const header = HEADER.exec(text)
  if (header) {
    const fields = Object.fromEntries(header[1].split(' ').map((kv) => kv.split('=')))
    return {
      weights: { blue: Number(fields.blue), green: Number(fields.green) },
      previous:
        fields.previous === 'blue' || fields.previous === 'green' ? fields.previous : undefined,
      changedAt: fields.changed
    }
  }
  // A file not written by us: a slot is live if any of its servers is listed and not down
  // (the address whole: 10.0.0.1:80801 is not 10.0.0.1:8080).
  const active = (slot: Slot): boolean =>
    servers[slot].some((s) =>
      new RegExp(
        `^\\s*server\\s+${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[\\s;])(?![^;]*\\bdown\\b)[^;]*;`,
        'm'
      ).test(text)
    )
  const blue = active('blue')
  const green = active('green')
  return { weights: { blue: blue ? (green ? 50 : 100) : 0, green: green ? (blue ? 50 : 100) : 0 } }
}

/**
 * nginx by rewriting one upstream include file: temp file + rename, `nginx -t`, graceful reload.
 * If the test fails, the old file is put back and nginx is not reloaded.
 */
export class NginxRouter implements Router {
  readonly name: string

  constructor(private readonly options: NginxRouterOptions) {
    this.name = `nginx ${options.upstreamFile} (${options.transport.name})`
  }

  async read(): Promise<RouterState> {
    const text = await readFile(this.options.transport, this.options.upstreamFile)
    if (text === undefined) {
      throw new ToolError(
        `${this.name}: upstream file does not exist; create it (see examples/nginx) or point nginx-upstream-file at it`
      )
    }
    return { ...parseUpstream(text, this.options.servers), detail: this.name }
  }

  private readonly changes = new ChangeQueue()

  setWeights(weights: Weights, meta: ChangeMeta): Promise<void> {
    return this.changes.run(() => this.change(weights, meta))
  }

  private async change(weights: Weights, meta: ChangeMeta): Promise<void> {
    const { transport, upstreamFile, testCommand, reloadCommand } = this.options
    const old = await readFile(transport, upstreamFile)
    const next = renderUpstream(this.options, weights, meta.previous, new Date().toISOString())
    await writeFileAtomic(transport, upstreamFile, next, { keepOwnerAndMode: true })
    const test = await transport.run(testCommand)
    if (test.code !== 0) {
      await this.restore(old)
      throw new ToolError(
        `${this.name}: \`${formatCommand(testCommand)}\` rejected the new upstream file, so the old file was ` +
          `restored and nginx was not reloaded (traffic unchanged): ${lastLines(test.stderr || test.stdout)}`
      )
    }
    const reload = await transport.run(reloadCommand)
    if (reload.code !== 0) {
      await this.restore(old)
      throw new ToolError(
        `${this.name}: \`${formatCommand(reloadCommand)}\` failed, so the old file was restored ` +
          `(nginx keeps serving its previous configuration): ${lastLines(reload.stderr || reload.stdout)}`
      )
    }
    log.debug(`${this.name}: reloaded with ${JSON.stringify(weights)}`)
  }

  private async restore(old: string | undefined): Promise<void> {
    if (old !== undefined)
      await writeFileAtomic(this.options.transport, this.options.upstreamFile, old, {
        keepOwnerAndMode: true
      })
  }

  /**
   * nginx keeps no health state: a slot is down when none of its servers accepts a connection.
   * Only from the runner itself (local transport); over SSH the servers may be unreachable from
   * here, so the answer is "cannot tell".
   */
  async slotHealth(slot: Slot): Promise<SlotHealth | undefined> {
    if (this.options.transport.name !== 'local') return undefined
    const results = await Promise.all(this.options.servers[slot].map((s) => tcpReachable(s)))
    const up = results.filter((r) => r.ok).length
    return {
      up: up > 0,
      detail: `${up}/${results.length} servers of ${slot} accept connections${
        up ? '' : ` (${results.map((r) => r.why).join(', ')})`
      }`
    }
  }

  lock(owner: string, waitMs: number): Promise<Release> {
    return takeDirectoryLock(
      this.options.transport,
      `${this.options.upstreamFile}.ops-actions.lock`,
      owner,
      waitMs
    )
  }
}

function tcpReachable(hostPort: string): Promise<{ ok: boolean; why?: string }> {
  const address = splitHostPort(hostPort)
  if (!address) return Promise.resolve({ ok: false, why: `${hostPort}: not host:port` })
  return new Promise((resolve) => {
    const conn = createConnection(address)
    conn.setTimeout(2000, () => conn.destroy(new Error('no answer within 2s')))
    conn.on('connect', () => {
      conn.destroy()
      resolve({ ok: true })
    })
    conn.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ ok: false, why: `${hostPort} ${e.code ?? e.message}` })
    )
  })
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ')
}
