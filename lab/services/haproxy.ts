import { writeFileSync } from 'node:fs'
import { runtimeApiCommand } from '../../src/traffic/haproxy.js'
import type { Lab } from '../lab.js'
import { freePort, withFreshPorts } from '../ports.js'
import { httpOk, type ManagedProcess } from '../process.js'

export interface HaproxyOptions {
  /** Backend servers by name; weight 0 = takes no new traffic. */
  servers: { name: string; address: string; weight: number }[]
  backend?: string
  name?: string
  /** Also expose the runtime API on TCP (host:port) besides the unix socket. */
  tcpApi?: boolean
  /** Load server state from this file at start (what a reload after a switch relies on). */
  stateFile?: boolean
  /** Also serve HAProxy's built-in Prometheus exporter (on `metricsAddress`, path /metrics). */
  metrics?: boolean
}

export interface HaproxyInstance {
  port: number
  url: string
  socket: string
  tcpApi?: string
  stateFile?: string
  /** host:port of the built-in Prometheus exporter, with `metrics`. */
  metricsAddress?: string
  configFile: string
  backend: string
  process: ManagedProcess
  /** Sends one runtime API command over the unix socket and returns the answer. */
  command(cmd: string): Promise<string>
  /** Graceful reload of the master (new workers read the config and the state file). */
  reload(): Promise<void>
}

/** The runtime API exchange the router uses (one implementation for lab and product). */
export const haproxyCommand = runtimeApiCommand

/**
 * HAProxy in master-worker mode (-W) so a reload (SIGUSR2) behaves as in production: new workers
 * start with the config and, when configured, the server-state file written before the reload.
 */
async function startHaproxyOnce(lab: Lab, options: HaproxyOptions): Promise<HaproxyInstance> {
  const name = options.name ?? 'haproxy'
  const dir = lab.mkdir(name)
  const port = await freePort()
  const statsPort = await freePort()
  const backend = options.backend ?? 'app'
  const socket = `${dir}/admin.sock`
  const stateFile = options.stateFile ? `${dir}/server-state` : undefined
  const tcpPort = options.tcpApi ? await freePort() : undefined
  const metricsPort = options.metrics ? await freePort() : undefined
  const servers = options.servers
    .map((s) => `  server ${s.name} ${s.address} weight ${s.weight}`)
    .join('\n')
  const config = `global
  stats socket ${socket} mode 600 level admin expose-fd listeners
${tcpPort ? `  stats socket ipv4@127.0.0.1:${tcpPort} level admin\n` : ''}  pidfile ${dir}/haproxy.pid
${stateFile ? `  server-state-file ${stateFile}\n` : ''}
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
  retries 2
  option redispatch
${stateFile ? '  load-server-state-from-file global\n' : ''}
frontend public
  bind 127.0.0.1:${port}
  default_backend ${backend}

frontend stats
  bind 127.0.0.1:${statsPort}
  http-request return status 200 content-type text/plain string ok
${
  metricsPort
    ? `
frontend metrics
  bind 127.0.0.1:${metricsPort}
  http-request use-service prometheus-exporter if { path /metrics }
`
    : ''
}
backend ${backend}
  balance roundrobin
${servers}
`
  const configFile = `${dir}/haproxy.cfg`
  writeFileSync(configFile, config)
  const proc = lab.spawn(name, ['haproxy', '-W', '-db', '-f', configFile])
  await proc.waitReady(() => httpOk(`http://127.0.0.1:${statsPort}/`), 15_000)
  // The master answers before workers bind the socket; wait for the runtime API too.
  await proc.waitReady(
    async () => (await haproxyCommand(socket, 'show info')).includes('Name:'),
    10_000
  )
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    socket,
    tcpApi: tcpPort ? `127.0.0.1:${tcpPort}` : undefined,
    stateFile,
    metricsAddress: metricsPort ? `127.0.0.1:${metricsPort}` : undefined,
    configFile,
    backend,
    process: proc,
    command: (cmd) => haproxyCommand(socket, cmd),
    async reload() {
      const before = await haproxyCommand(socket, 'show info')
      const pidBefore = /Pid: (\d+)/.exec(before)?.[1]
      proc.signal('SIGUSR2')
      await proc.waitReady(async () => {
        const info = await haproxyCommand(socket, 'show info')
        const pid = /Pid: (\d+)/.exec(info)?.[1]
        return pid !== undefined && pid !== pidBefore
      }, 15_000)
    }
  }
}

/** startHaproxyOnce on free ports, picked again if another process took one meanwhile. */
export function startHaproxy(lab: Lab, options: HaproxyOptions): Promise<HaproxyInstance> {
  return withFreshPorts(() => startHaproxyOnce(lab, options))
}
