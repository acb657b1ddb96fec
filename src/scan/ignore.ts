import { parse as parseYaml } from 'yaml'
import { ConfigurationError } from '../core/errors.js'
import { parsePurl, purlMatches, type PackageUrl } from './purl.js'
import type { Finding, FindingKind } from './report.js'

/**
 * One entry of a `.trivyignore` (plain: `ID [exp:YYYY-MM-DD]`) or `.trivyignore.yaml`
 * (`vulnerabilities|misconfigurations|secrets|licenses: [{id, paths, purls, expired_at}]`),
 * with Trivy's meaning (docs/guide/configuration/filtering.md, "By Finding IDs").
 */
export interface IgnoreRule {
  id: string
  /** Only findings of this kind (YAML sections); plain entries match any kind. */
  kind?: FindingKind
  paths?: string[]
  purls?: string[]
  /** `purls`, parsed: a version-less purl matches every version of the package, as in Trivy. */
  packages?: PackageUrl[]
  /** Midnight UTC of the expiry date: from then on the entry no longer ignores anything. */
  expiresAt?: Date
  /** Where it was written, for warnings: `.trivyignore:3`. */
  origin: string
}

const YAML_SECTIONS: Record<string, FindingKind> = {
  vulnerabilities: 'vulnerability',
  misconfigurations: 'misconfiguration',
  secrets: 'secret',
  licenses: 'license'
}

function parseDate(raw: string, origin: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw.trim())
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined
  if (!date || Number.isNaN(date.getTime()) || date.getUTCDate() !== Number(m?.[3])) {
    throw new ConfigurationError(
      `${origin}: expiry \`${raw}\` is not a date; expected YYYY-MM-DD`,
      'ignore-file'
    )
  }
  return date
}

export function parsePlainIgnoreFile(text: string, file: string): IgnoreRule[] {
  const rules: IgnoreRule[] = []
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    const fields = line.trim().split(/\s+/)
    if (fields[0] === '' || fields[0].startsWith('#')) continue
    const origin = `${file}:${i + 1}`
    const exp = fields.slice(1).find((f) => f.startsWith('exp:'))
    rules.push({
      id: fields[0],
      origin,
      expiresAt: exp ? parseDate(exp.slice(4), origin) : undefined
    })
  }
  return rules
}

function stringList(value: unknown, origin: string, key: string): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new ConfigurationError(`${origin}: \`${key}\` must be a list of strings`, 'ignore-file')
  }
  return value as string[]
}

export function parseYamlIgnoreFile(text: string, file: string): IgnoreRule[] {
  let doc: unknown
  try {
    doc = parseYaml(text) ?? {}
  } catch (error) {
    throw new ConfigurationError(
      `${file} is not valid YAML: ${(error as Error).message}`,
      'ignore-file'
    )
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigurationError(
      `${file}: expected a mapping with ${Object.keys(YAML_SECTIONS).join(', ')}`,
      'ignore-file'
    )
  }
  const rules: IgnoreRule[] = []
  for (const [section, entries] of Object.entries(doc)) {
    const kind = YAML_SECTIONS[section]
    if (!kind) {
      throw new ConfigurationError(
        `${file}: unknown section \`${section}\`; expected ${Object.keys(YAML_SECTIONS).join(', ')}`,
        'ignore-file'
      )
    }
    if (entries !== null && entries !== undefined && !Array.isArray(entries)) {
      throw new ConfigurationError(
        `${file}: \`${section}\` must be a list of entries (\`- id: …\`), not ${typeof entries === 'string' ? 'a string' : 'a mapping'}`,
        'ignore-file'
      )
    }
    for (const [i, entry] of ((entries as unknown[] | null) ?? []).entries()) {
      const origin = `${file} ${section}[${i}]`
      const e = (entry ?? {}) as Record<string, unknown>
      if (typeof e.id !== 'string' || e.id === '') {
        throw new ConfigurationError(`${origin}: every entry needs an \`id\``, 'ignore-file')
      }
      const expired = e.expired_at
      const purls = stringList(e.purls, origin, 'purls')
      rules.push({
        id: e.id,
        kind,
        origin,
        paths: stringList(e.paths, origin, 'paths'),
        purls,
        packages: purls?.map((p) => {
          const parsed = parsePurl(p)
          if (!parsed) {
            throw new ConfigurationError(
              `${origin}: \`${p}\` is not a package URL; expected pkg:type/namespace/name[@version]`,
              'ignore-file'
            )
          }
          return parsed
        }),
        // YAML turns an unquoted 2024-01-01 into a Date; quoted, it stays a string.
        expiresAt:
          expired instanceof Date
            ? expired
            : expired
              ? parseDate(String(expired), origin)
              : undefined
      })
    }
  }
  return rules
}

/** `.yaml`/`.yml` files are read as YAML, everything else as plain lines (Trivy's rule). */
export function parseIgnoreFile(text: string, file: string): IgnoreRule[] {
  return /\.ya?ml$/i.test(file) ? parseYamlIgnoreFile(text, file) : parsePlainIgnoreFile(text, file)
}

/**
 * Glob as Trivy's paths use it (github.com/bmatcuk/doublestar/v4 `Match`): `**` as a whole
 * segment is any number of directories (`a/**` also matches `a`; `a/**` + `/b` matches `a/b`
 * but not `a/xb`), any other `*` stays within one segment, `?` one character, `[ab]`/`[!ab]`
 * classes, `{a,b}` alternatives, `\` escapes.
 */
export function globToRegExp(glob: string): RegExp {
  let re = ''
  let braces = 0
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    const segmentStart = i === 0 || glob[i - 1] === '/'
    if (c === '/' && glob.slice(i) === '/**') {
      re += '(?:/.*)?'
      break
    } else if (c === '*' && glob[i + 1] === '*' && segmentStart && glob[i + 2] === '/') {
      re += '(?:[^/]*/)*'
      i += 2
    } else if (c === '*' && glob[i + 1] === '*' && segmentStart && i + 2 === glob.length) {
      re += '.*'
      i++
    } else if (c === '*') {
      while (glob[i + 1] === '*') i++
      re += '[^/]*'
    } else if (c === '?') re += '[^/]'
    else if (c === '\\' && i + 1 < glob.length) {
      i++
      re += glob[i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    } else if (c === '[' && glob.indexOf(']', i + 2) > 0) {
      const close = glob.indexOf(']', i + 2)
      let body = glob.slice(i + 1, close)
      const negate = body.startsWith('!') || body.startsWith('^')
      if (negate) body = body.slice(1)
      re += `[${negate ? '^/' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`
      i = close
    } else if (c === '{') {
      braces++
      re += '(?:'
    } else if (c === '}' && braces > 0) {
      braces--
      re += ')'
    } else if (c === ',' && braces > 0) re += '|'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  if (braces > 0) return /(?!)/
  return new RegExp(`^${re}$`)
}

function matches(rule: IgnoreRule, f: Finding): boolean {
  if (rule.id !== f.id && !f.aliases?.includes(rule.id)) return false
  if (rule.kind && rule.kind !== f.kind) return false
  // Trivy applies the purls only to findings with a package (a secret has none).
  if (rule.packages && rule.packages.length > 0 && f.purl) {
    const target = parsePurl(f.purl)
    if (!target || !rule.packages.some((p) => purlMatches(p, target))) return false
  }
  if (rule.paths) {
    // Trivy tries the result's Target and PkgPath, but a license only by its FilePath
    // (pkg/result/filter.go: MatchLicense(l.Name, l.FilePath)).
    const candidates =
      f.kind === 'license'
        ? [f.pkgPath ?? '']
        : [f.pkgPath, f.target].filter((p): p is string => Boolean(p))
    const globs = rule.paths.map(globToRegExp)
    if (!candidates.some((p) => globs.some((g) => g.test(p)))) return false
  }
  return true
}

export interface IgnoreOutcome {
  kept: Finding[]
  ignored: Finding[]
  /** Expired entries, with how many findings they would have hidden (those count again). */
  expired: { rule: IgnoreRule; findings: number }[]
}

export function applyIgnoreRules(
  findings: Finding[],
  rules: IgnoreRule[],
  now: Date
): IgnoreOutcome {
  const active = rules.filter((r) => !r.expiresAt || now < r.expiresAt)
  const expiredRules = rules.filter((r) => r.expiresAt && now >= r.expiresAt)
  const byId = new Map<string, IgnoreRule[]>()
  for (const rule of active) byId.set(rule.id, [...(byId.get(rule.id) ?? []), rule])
  const kept: Finding[] = []
  const ignored: Finding[] = []
  for (const f of findings) {
    const candidates = [f.id, ...(f.aliases ?? [])].flatMap((id) => byId.get(id) ?? [])
    if (candidates.some((r) => matches(r, f))) ignored.push(f)
    else kept.push(f)
  }
  const expired = expiredRules.map((rule) => ({
    rule,
    findings: kept.filter((f) => matches(rule, f)).length
  }))
  return { kept, ignored, expired }
}
