import { ConfigurationError } from '../core/errors.js'

/** An image reference split the way the Distribution API needs it. */
export interface ImageRef {
  /** Host[:port] as written (`docker.io` for Docker Hub names). */
  registry: string
  repository: string
  tag?: string
  digest?: string
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`)
export const DIGEST = /^sha256:[a-f0-9]{64}$/
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

/**
 * Parses `host[:port]/name[:tag][@sha256:…]` with Docker's rules: the first component is a
 * registry only when it has a dot, a port or is `localhost`; otherwise the image is on Docker Hub.
 */
export function parseImageRef(input: string, raw: string): ImageRef {
  const bad = (why: string): never => {
    throw new ConfigurationError(
      `input \`${input}\` = \`${raw}\`: ${why}, e.g. ghcr.io/org/app or ghcr.io/org/app@sha256:…`,
      input
    )
  }
  let rest = raw.trim()
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) bad('the digest must be sha256: followed by 64 hex digits')
  }
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) bad(`\`${tag}\` is not a valid tag`)
  }
  // `ghcr.io/${{ github.repository }}` is often mixed case; registries want lower case
  // (metadata-action lower-cases image names the same way). Tags keep their case.
  rest = rest.toLowerCase()
  const first = rest.split('/')[0]
  const hasRegistry =
    rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
  const registry = hasRegistry ? first : 'docker.io'
  let repository = hasRegistry ? rest.slice(first.length + 1) : rest
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`
  if (!REPOSITORY.test(repository))
    bad(`\`${repository}\` is not a valid repository name (lower case, digits, . _ - /)`)
  return { registry, repository, ...(tag && { tag }), ...(digest && { digest }) }
}

/** The name users write before `:tag` / `@digest` (Docker Hub names kept short). */
export function imageName(ref: ImageRef): string {
  const repo =
    ref.registry === 'docker.io' ? ref.repository.replace(/^library\//, '') : ref.repository
  return ref.registry === 'docker.io' ? `docker.io/${repo}` : `${ref.registry}/${repo}`
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/

/** Base URL of the registry API: HTTPS, except plain HTTP on loopback as Docker allows. */
export function registryBaseUrl(registry: string): string {
  if (registry === 'docker.io') return 'https://registry-1.docker.io'
  return `${LOOPBACK.test(registry) ? 'http' : 'https'}://${registry}`
}
