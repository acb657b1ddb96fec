import { ConfigurationError } from '../core/errors.js'
import { parseHostPort, requireTogether, type Inputs } from '../core/inputs.js'
import { log } from '../core/log.js'
import { FleetRouter } from './fleet.js'
import { HaproxyRouter } from './haproxy.js'
import { NginxRouter } from './nginx.js'
import { luaPeer, NginxLuaRouter, parseAdminAddress } from './nginx-lua.js'
import type { Router } from './router.js'
import type { Slot } from './slots.js'
import { LocalTransport, parseSshHost, SshTransport, type Transport } from './transport.js'
import { readKubernetesConfig, KubernetesRouter, type KubernetesConfig } from './kubernetes.js'

export const ROUTER_KINDS = ['haproxy', 'nginx', 'kubernetes'] as const
export type RouterKind = (typeof ROUTER_KINDS)[number]

/** Every router input, validated; nothing is contacted while this is built. */
export interface RouterConfig {
  kind: RouterKind
  lockTimeoutMs: number
  ssh?: { hosts: { host: string; port: number }[]; user: string; key: string; knownHosts: string }
  haproxy?: {
    sockets: string[]
    backend: string
    servers: Record<Slot, string>
    stateFile?: string
  }
  nginx?: {
    upstreamFile: string
    upstreamName: string
    servers: Record<Slot, string[]>
    upstreamOptions: string[]
    testCommand: string[]
    reloadCommand: string[]
    /** `reload`: rewrite + reload; `lua`: balancer_by_lua weights set over `admin`, no reload. */
    mode: 'reload' | 'lua'
    admin?: string
  }
  kubernetes?: KubernetesConfig
}

const SERVER_NAME = /^[A-Za-z0-9._-]+$/
const UPSTREAM_NAME = /^[A-Za-z0-9_]+$/

function serverName(inputs: Inputs, name: string, fallback: string): string {
  const value = inputs.optional(name) ?? fallback
  if (!SERVER_NAME.test(value)) {
    throw new ConfigurationError(
      `input \`${name}\` = \`${value}\`: expected an HAProxy server name (letters, digits, . _ -)`,
      name
    )
  }
  return value
}

function absolutePath(inputs: Inputs, name: string): string {
  const value = inputs.required(name)
  if (!value.startsWith('/')) {
    throw new ConfigurationError(
      `input \`${name}\` = \`${value}\`: expected an absolute path`,
      name
    )
  }
  return value
}

export function readRouterConfig(inputs: Inputs): RouterConfig {
  const kind = inputs.enum('router', ROUTER_KINDS)
  const config: RouterConfig = { kind, lockTimeoutMs: inputs.duration('lock-timeout', '2m') }
  const sshHosts = inputs.list('ssh-host')
  if (sshHosts.length > 0) {
    if (kind === 'kubernetes') {
      throw new ConfigurationError(
        'input `ssh-host` does not apply to router `kubernetes` (it talks to the API server)',
        'ssh-host'
      )
    }
    requireTogether(inputs, 'ssh-host is set', ['ssh-user', 'ssh-key', 'ssh-known-hosts'])
    const key = inputs.required('ssh-key')
    log.secret(key)
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
      throw new ConfigurationError(
        'input `ssh-key` (value hidden): expected a private key in PEM/OpenSSH format',
        'ssh-key'
      )
    }
    const user = inputs.required('ssh-user')
    if (!/^[a-z_][a-z0-9_.-]*$/i.test(user)) {
      throw new ConfigurationError(
        `input \`ssh-user\` = \`${user}\`: expected a user name`,
        'ssh-user'
      )
    }
    config.ssh = {
      hosts: sshHosts.map((h) => parseSshHost('ssh-host', h)),
      user,
      key,
      knownHosts: inputs.required('ssh-known-hosts')
    }
  }
  if (kind === 'haproxy') {
    const sockets = inputs.list('haproxy-socket')
    if (sockets.length === 0) {
      throw new ConfigurationError(
        'input `haproxy-socket` is required when router is `haproxy` (a unix socket path or host:port)',
        'haproxy-socket'
      )
    }
    for (const s of sockets) {
      if (!s.startsWith('/')) parseHostPort('haproxy-socket', s)
    }
    const servers = {
      blue: serverName(inputs, 'blue-server', 'blue'),
      green: serverName(inputs, 'green-server', 'green')
    }
    if (servers.blue === servers.green) {
      throw new ConfigurationError(
        `inputs \`blue-server\` and \`green-server\` are both \`${servers.blue}\`: they must differ`,
        'green-server'
      )
    }
    config.haproxy = {
      sockets,
      backend: serverName(inputs, 'haproxy-backend', 'app'),
      servers,
      stateFile: inputs.has('haproxy-state-file')
        ? absolutePath(inputs, 'haproxy-state-file')
        : undefined
    }
  }
  if (kind === 'nginx') {
    const servers = { blue: inputs.list('blue-servers'), green: inputs.list('green-servers') }
    for (const slot of ['blue', 'green'] as const) {
      const name = `${slot}-servers`
      if (servers[slot].length === 0) {
        throw new ConfigurationError(
          `input \`${name}\` is required when router is \`nginx\` (host:port list)`,
          name
        )
      }
      for (const s of servers[slot]) parseHostPort(name, s)
    }
    const upstreamName = inputs.optional('nginx-upstream-name') ?? 'app'
    if (!UPSTREAM_NAME.test(upstreamName)) {
      throw new ConfigurationError(
        `input \`nginx-upstream-name\` = \`${upstreamName}\`: expected letters, digits and _`,
        'nginx-upstream-name'
      )
    }
    const extra = inputs.lines('nginx-upstream-options')
    for (const line of extra) {
      if (/[{}]/.test(line) || !/^[a-z_]+(\s+[^;]+)?;?$/.test(line)) {
        throw new ConfigurationError(
          `input \`nginx-upstream-options\` line \`${line}\`: expected one upstream directive such as \`keepalive 32;\``,
          'nginx-upstream-options'
        )
      }
    }
    // nginx-mode lua (src/traffic/nginx-lua.ts): peers must be IP:port, admin local only.
    const mode = inputs.enum('nginx-mode', ['reload', 'lua'] as const, 'reload')
    if (mode === 'lua') {
      for (const slot of ['blue', 'green'] as const)
        for (const s of servers[slot]) luaPeer(`${slot}-servers`, s)
    }
    const admin = inputs.optional('nginx-admin')
    if (mode === 'lua' && !admin) {
      throw new ConfigurationError(
        'input `nginx-admin` is required when nginx-mode is `lua`: a unix socket path (/run/ops-actions/nginx-admin.sock) or 127.0.0.1:port',
        'nginx-admin'
      )
    }
    if (admin) parseAdminAddress('nginx-admin', admin)
    config.nginx = {
      mode,
      admin,
      upstreamFile: absolutePath(inputs, 'nginx-upstream-file'),
      upstreamName,
      servers,
      upstreamOptions: extra,
      testCommand: inputs.command('nginx-test-command', 'nginx -t'),
      reloadCommand: inputs.command('nginx-reload-command', 'nginx -s reload')
    }
  }
  if (kind === 'kubernetes') config.kubernetes = readKubernetesConfig(inputs)
  return config
}

export interface OpenRouter {
  router: Router
  close(): Promise<void>
}

/** Builds the router (a fleet when several hosts or sockets are given). */
export function openRouter(config: RouterConfig): OpenRouter {
  const transports: Transport[] = config.ssh
    ? config.ssh.hosts.map(
        (h) =>
          new SshTransport({
            host: h.host,
            port: h.port,
            user: config.ssh!.user,
            key: config.ssh!.key,
            knownHosts: config.ssh!.knownHosts
          })
      )
    : [new LocalTransport()]
  const members: Router[] = []
  for (const transport of transports) {
    if (config.haproxy) {
      for (const socket of config.haproxy.sockets) {
        members.push(new HaproxyRouter({ ...config.haproxy, socket, transport }))
      }
    }
    if (config.nginx?.mode === 'lua') {
      members.push(new NginxLuaRouter({ ...config.nginx, admin: config.nginx.admin!, transport }))
    } else if (config.nginx) members.push(new NginxRouter({ ...config.nginx, transport }))
  }
  if (config.kubernetes) members.push(new KubernetesRouter(config.kubernetes))
  return {
    router: members.length === 1 ? members[0] : new FleetRouter(members),
    close: async () => {
      for (const t of transports) await t.close()
    }
  }
}
