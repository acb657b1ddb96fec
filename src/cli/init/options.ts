import { ConfigurationError } from '../../core/errors.js'

export const ROUTERS = ['haproxy', 'nginx', 'kubernetes'] as const
export const PLATFORMS = ['vm-ssh', 'self-hosted-lb', 'eks', 'gke', 'aks', 'kubeconfig'] as const
export const REGISTRIES = ['ghcr', 'ecr', 'other'] as const
export const STRATEGIES = ['bluegreen', 'canary'] as const
/** docker: a build job pushes the image; none: another pipeline already pushed sha-<commit>. */
export const BUILDS = ['docker', 'none'] as const

export type Router = (typeof ROUTERS)[number]
export type Platform = (typeof PLATFORMS)[number]
export type Registry = (typeof REGISTRIES)[number]
export type Strategy = (typeof STRATEGIES)[number]
export type Build = (typeof BUILDS)[number]

/** Which platforms each router runs on: a VM load balancer, or a cluster. */
export const PLATFORMS_OF: Record<Router, readonly Platform[]> = {
  haproxy: ['vm-ssh', 'self-hosted-lb'],
  nginx: ['vm-ssh', 'self-hosted-lb'],
  kubernetes: ['eks', 'gke', 'aks', 'kubeconfig']
}

export interface InitOptions {
  /** GitHub owner that hosts ops-actions (the `example-org` of the templates). */
  org: string
  service: string
  router: Router
  platform: Platform
  registry: Registry
  strategy: Strategy
  build: Build
  environments: string[]
  /** Ref of ops-actions the workflows use (a release tag or a commit). */
  ref: string
}

/** The flags of `ops-actions init`, each with what it accepts (for --help and errors). */
export const INIT_FLAGS: Record<string, string> = {
  org: 'GitHub organisation or user that hosts ops-actions (and owns the GHCR image), e.g. acme',
  service: 'service name: lowercase letters, digits and -, e.g. shop',
  router: ROUTERS.join(' | '),
  platform: `${PLATFORMS.join(' | ')} (haproxy/nginx: vm-ssh, self-hosted-lb; kubernetes: eks, gke, aks, kubeconfig)`,
  registry: REGISTRIES.join(' | '),
  strategy: `${STRATEGIES.join(' | ')} (default bluegreen; canary needs Prometheus)`,
  build:
    'docker (a build job pushes the image; default) | none (your CI already pushed <image>:sha-<commit>)',
  environments:
    'GitHub environments, comma-separated, first one deploys on push (default staging,production)',
  ref: 'ops-actions ref the workflows pin (default v1)',
  dir: 'repository to write into (default .)'
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/
const ENVIRONMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/
const REF = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/

function refuse(flag: string, value: string, accepted: string): never {
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value
  throw new ConfigurationError(`option --${flag} = \`${shown}\`: expected ${accepted}`, flag)
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    refuse(flag, value, `one of ${allowed.map((a) => `\`${a}\``).join(', ')}`)
  return value as T
}

/** Validates raw flag values (all strings) into options; every message names flag and value. */
export function validateInit(raw: Record<string, string | undefined>): InitOptions {
  const missing = ['org', 'service', 'router', 'platform', 'registry'].filter(
    (f) => raw[f] === undefined || raw[f] === ''
  )
  if (missing.length)
    throw new ConfigurationError(
      `ops-actions init needs ${missing.map((m) => `--${m}`).join(', ')} (${missing.map((m) => `--${m}: ${INIT_FLAGS[m]}`).join('; ')})`,
      missing[0]
    )
  const org = raw.org!
  if (!OWNER.test(org) || org.toLowerCase() === 'example-org')
    refuse(
      'org',
      org,
      'a GitHub organisation or user name (letters, digits, -), not the placeholder'
    )
  const service = raw.service!
  if (!NAME.test(service)) refuse('service', service, INIT_FLAGS.service)
  const router = oneOf('router', raw.router!, ROUTERS)
  const platform = oneOf('platform', raw.platform!, PLATFORMS)
  if (!PLATFORMS_OF[router].includes(platform))
    refuse(
      'platform',
      platform,
      `for --router ${router} one of ${PLATFORMS_OF[router].map((p) => `\`${p}\``).join(', ')}`
    )
  const registry = oneOf('registry', raw.registry!, REGISTRIES)
  const strategy = oneOf('strategy', raw.strategy ?? 'bluegreen', STRATEGIES)
  const build = oneOf('build', raw.build ?? 'docker', BUILDS)
  const environments = (raw.environments ?? 'staging,production')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
  if (environments.length === 0 || environments.length > 10)
    refuse(
      'environments',
      raw.environments ?? '',
      'from 1 to 10 environment names, comma-separated'
    )
  for (const env of environments) {
    if (!ENVIRONMENT.test(env))
      refuse('environments', env, 'environment names of letters, digits, _ . - (up to 63)')
  }
  if (new Set(environments.map((e) => e.toLowerCase())).size !== environments.length)
    refuse('environments', environments.join(','), 'each environment once')
  const ref = raw.ref ?? 'v1'
  if (!REF.test(ref) || ref.includes('..')) refuse('ref', ref, 'a tag, branch or commit SHA')
  return { org, service, router, platform, registry, strategy, build, environments, ref }
}

/** Every valid combination (for tests and docs): router x platform x registry x strategy. */
export function allCombinations(): Array<
  Omit<InitOptions, 'org' | 'service' | 'environments' | 'ref'>
> {
  return ROUTERS.flatMap((router) =>
    PLATFORMS_OF[router].flatMap((platform) =>
      REGISTRIES.flatMap((registry) =>
        STRATEGIES.flatMap((strategy) =>
          BUILDS.map((build) => ({ router, platform, registry, strategy, build }))
        )
      )
    )
  )
}
