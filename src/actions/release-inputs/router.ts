// Reads every router input of deploy-bluegreen and canary-promote into the typed settings of
// the router factory (src/traffic/config.ts): all validation here, before anything is touched.
import { ConfigurationError } from '../../core/errors.js'
import { parseHostPort, requireTogether, type Inputs } from '../../core/inputs.js'
import { log } from '../../core/log.js'
import { ROUTER_KINDS, type RouterConfig } from '../../traffic/config.js'
import { luaPeer, parseAdminAddress } from '../../traffic/nginx-lua.js'
import { parseSshHost } from '../../traffic/transport.js'
import { readKubernetesConfig } from './kubernetes.js'

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
