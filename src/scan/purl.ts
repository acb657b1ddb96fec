/**
 * Package URLs as the ignore file's `purls` match them: Trivy's `purl.PackageURL.Match`
 * (pkg/purl/purl.go). A rule's purl without a version matches every version; its qualifiers
 * must all be on the package with the same values; type, namespace and name must be equal.
 */
export interface PackageUrl {
  type: string
  namespace: string
  name: string
  version: string
  qualifiers: Map<string, string>
  subpath: string
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** `pkg:type/namespace/name@version?key=value#subpath`, or undefined when it is not a purl. */
export function parsePurl(raw: string): PackageUrl | undefined {
  const m = /^pkg:([a-zA-Z][a-zA-Z0-9.+-]*)\/+([^?#]+)(?:\?([^#]*))?(?:#(.*))?$/.exec(raw.trim())
  if (!m) return undefined
  let path = m[2].replace(/\/+$/, '')
  let version = ''
  const at = path.lastIndexOf('@')
  if (at >= 0) {
    version = decode(path.slice(at + 1))
    path = path.slice(0, at)
  }
  const segments = path.split('/').filter(Boolean)
  const name = segments.pop()
  if (!name) return undefined
  const qualifiers = new Map<string, string>()
  for (const pair of (m[3] ?? '').split('&').filter(Boolean)) {
    const eq = pair.indexOf('=')
    if (eq <= 0) return undefined
    const value = decode(pair.slice(eq + 1))
    if (value !== '') qualifiers.set(pair.slice(0, eq).toLowerCase(), value)
  }
  return {
    type: m[1].toLowerCase(),
    namespace: segments.map(decode).join('/'),
    name: decode(name),
    version,
    qualifiers,
    subpath: (m[4] ?? '').replace(/^\/+|\/+$/g, '')
  }
}

/** Whether the ignore rule's purl covers the package's purl. */
export function purlMatches(rule: PackageUrl, target: PackageUrl): boolean {
  if (rule.type !== target.type || rule.namespace !== target.namespace) return false
  if (rule.name !== target.name) return false
  if (rule.version !== '' && rule.version !== target.version) return false
  if (rule.subpath !== '' && rule.subpath !== target.subpath) return false
  for (const [key, value] of rule.qualifiers) if (target.qualifiers.get(key) !== value) return false
  return true
}
