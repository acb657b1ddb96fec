import { dirname, isAbsolute, relative, resolve, sep } from 'node:path'
/**
 * What a scan target *is*, apart from the version scanned: an image without its tag or digest,
 * a path as given. SARIF locations, the SARIF category and the tracking issue are keyed on it,
 * so a scan of `api:1.2.4` updates the alerts and the issue that `api:1.2.3` opened.
 */

export interface ImageRef {
  /** `ghcr.io`, or `index.docker.io` for Docker Hub names. */
  registry: string
  /** `acme/api`; Docker Hub's one-part names get `library/` (`alpine` -> `library/alpine`). */
  repository: string
}

const DOCKER_HUB = 'index.docker.io'

/**
 * go-containerregistry's `name.ParseReference` rules (what Trivy uses): the first part is a
 * registry when it holds a `.` or `:` or is `localhost`; the tag follows the last `:` of the
 * last part, the digest follows `@`. Undefined for what is not an image name (a path, a URL).
 */
export function parseImageRef(ref: string): ImageRef | undefined {
  const text = ref.trim()
  if (text === '' || /\s/.test(text) || text.startsWith('/') || text.includes('://'))
    return undefined
  const withoutDigest = text.split('@')[0]
  const parts = withoutDigest.split('/')
  const last = parts[parts.length - 1]
  const colon = last.lastIndexOf(':')
  parts[parts.length - 1] = colon >= 0 ? last.slice(0, colon) : last
  let registry = DOCKER_HUB
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0])) registry = parts.shift()!
  if (registry === 'docker.io') registry = DOCKER_HUB
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library')
  // Repository parts are lowercase letters, digits and separators (the distribution spec).
  if (!parts.every((p) => /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(p))) return undefined
  return { registry, repository: parts.join('/') }
}

/** `ghcr.io/acme/api:1.2.3@sha256:…` -> `ghcr.io/acme/api`; not an image: unchanged. */
export function imageWithoutVersion(ref: string): string {
  const parsed = parseImageRef(ref)
  if (!parsed) return ref
  const hub = parsed.registry === DOCKER_HUB
  return hub ? `docker.io/${parsed.repository}` : `${parsed.registry}/${parsed.repository}`
}

/**
 * The SARIF path of an OS-package result, exactly as Trivy's `ToPathUri` makes it: the part of
 * `Result.Target` before ` (alpine 3.19.1)`, and for an image its repository only (no registry,
 * no tag: aquasecurity/trivy#2357), so alerts survive a new tag.
 */
export function osPackagesPath(resultTarget: string): string {
  const path = /^(.+?)(?:\s*\(.*?\).*?)?$/.exec(resultTarget)?.[1] ?? resultTarget
  return parseImageRef(path)?.repository ?? path.replace(/\\/g, '/')
}

/** What the report or the inputs call the scan: `image`, `repo`, `fs`, ... */
export const SCAN_LABEL_BY_ARTIFACT_TYPE: Record<string, string> = {
  container_image: 'image',
  filesystem: 'fs',
  repository: 'repo',
  cyclonedx: 'sbom',
  spdx: 'sbom',
  vm: 'vm'
}

/** The scan's kind as the report says it (a report file knows better than the input default). */
export function scanLabel(artifactType: string | undefined, fallback: string): string {
  return (artifactType && SCAN_LABEL_BY_ARTIFACT_TYPE[artifactType]) || fallback
}

/** `image:ghcr.io/acme/api`: the identity of a scan target across versions (issue, category). */
export function scanTargetKey(label: string, target: string): string {
  return `${label}:${label === 'image' ? imageWithoutVersion(target) : target}`
}

/**
 * `fs:services/api`: a local path inside the workspace is keyed relative to it, so `./services/api`,
 * `services/api/` and `$GITHUB_WORKSPACE/services/api` (another runner's work directory too) are
 * one target: one issue, one SARIF category. Outside the workspace: the path as given.
 */
export function localTargetKey(label: string, path: string, workspace: string): string {
  const rel = relative(resolve(workspace), resolve(workspace, path))
  if (rel.startsWith('..') || isAbsolute(rel)) return scanTargetKey(label, path)
  return `${label}:${rel === '' ? '.' : rel.split(sep).join('/')}`
}

/**
 * An older marker key (`image:ghcr.io/acme/api:1.2.3`, `fs:./services/api`) read the way keys
 * are made now; paths only with the workspace they are relative to.
 */
export function normaliseTargetKey(key: string, workspace?: string): string {
  const colon = key.indexOf(':')
  if (colon < 0) return key
  const label = key.slice(0, colon)
  const target = key.slice(colon + 1)
  if (workspace && label !== 'image' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(target))
    return localTargetKey(label, target, workspace)
  return scanTargetKey(label, target)
}

/**
 * Where a scanned directory sits in the repository, for SARIF paths and annotations: Trivy
 * writes paths relative to what it scanned. Empty at the root, outside the workspace, or for
 * targets that are not local paths.
 */
export function repoPathPrefix(
  workspace: string,
  scanned: string | undefined,
  isDirectory: boolean
): string {
  if (!scanned) return ''
  const rel = relative(resolve(workspace), resolve(scanned))
  const dir = isDirectory ? rel : dirname(rel)
  if (dir === '' || dir === '.' || dir.startsWith('..') || isAbsolute(dir)) return ''
  return dir.split(sep).join('/')
}

/** The version part of an image reference: its digest when it has one, else its tag (`latest`). */
function imageVersion(ref: string): { tag: string; digest?: string } {
  const [name, digest] = ref.trim().split('@')
  const last = name.split('/').pop() ?? ''
  const colon = last.lastIndexOf(':')
  return { tag: colon >= 0 ? last.slice(colon + 1) : 'latest', digest }
}

/**
 * Whether a report's `ArtifactName` is the `target` named with it: the same image (Docker Hub
 * spellings alike) at the same digest, or else the same tag; the same path once resolved; a
 * URL exactly. A report of `api:1.2.3` is not one of `api:1.2.4`.
 */
export function sameTarget(label: string, given: string, reported: string, cwd: string): boolean {
  if (given.trim() === reported.trim()) return true
  const a = parseImageRef(given)
  const b = parseImageRef(reported)
  if (label === 'image' && a && b) {
    if (a.registry !== b.registry || a.repository !== b.repository) return false
    const va = imageVersion(given)
    const vb = imageVersion(reported)
    if (va.digest || vb.digest) return va.digest === vb.digest
    return va.tag === vb.tag
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(given) || /^[a-z][a-z0-9+.-]*:\/\//i.test(reported))
    return given.trim().replace(/\/+$/, '') === reported.trim().replace(/\/+$/, '')
  return resolve(cwd, given) === resolve(cwd, reported)
}
