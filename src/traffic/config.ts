// The router factory: typed, validated settings in, a Router (or a fleet of them) out.
import { FleetRouter } from './fleet.js'
import { HaproxyRouter, type HaproxyRouterOptions } from './haproxy.js'
import { NginxRouter, type NginxRouterOptions } from './nginx.js'
import { NginxLuaRouter, type NginxLuaRouterOptions } from './nginx-lua.js'
import type { Router } from './router.js'
import { LocalTransport, SshTransport, type SshOptions, type Transport } from './transport.js'
import { KubernetesRouter, type KubernetesConfig } from './kubernetes.js'
import type { RunContext } from '../core/run-context.js'

export const ROUTER_KINDS = ['haproxy', 'nginx', 'kubernetes'] as const
export type RouterKind = (typeof ROUTER_KINDS)[number]

/**
 * What the router factory needs, all validated (src/actions/release-inputs/ reads it from the
 * inputs); nothing is contacted while it is built. Each part is the router's own options
 * without what the factory adds (the transport, and for HAProxy one socket of the list).
 */
export interface RouterConfig {
  kind: RouterKind
  lockTimeoutMs: number
  ssh?: Omit<SshOptions, 'host' | 'port' | 'tempDir'> & { hosts: { host: string; port: number }[] }
  haproxy?: Omit<HaproxyRouterOptions, 'socket' | 'transport'> & { sockets: string[] }
  nginx?: Omit<NginxRouterOptions, 'transport'> & {
    /** `reload`: rewrite + reload; `lua`: balancer_by_lua weights set over `admin`, no reload. */
    mode: 'reload' | 'lua'
    admin?: NginxLuaRouterOptions['admin']
  }
  kubernetes?: KubernetesConfig
}

export interface OpenRouter {
  router: Router
  close(): Promise<void>
}

/**
 * Builds the router (a fleet when several hosts or sockets are given); SSH writes its key and
 * control socket under the run's temp dir.
 */
export function openRouter(config: RouterConfig, context: Pick<RunContext, 'tempDir'>): OpenRouter {
  const transports: Transport[] = config.ssh
    ? config.ssh.hosts.map(
        (h) =>
          new SshTransport({
            host: h.host,
            port: h.port,
            user: config.ssh!.user,
            key: config.ssh!.key,
            knownHosts: config.ssh!.knownHosts,
            tempDir: context.tempDir
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
