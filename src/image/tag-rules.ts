import semver from 'semver'
import { ConfigurationError } from '../core/errors.js'
import type { GitContext } from './git-context.js'

/**
 * docker/metadata-action's tag language, one rule per line:
 *   type=semver,pattern={{major}}.{{minor}}[,value=…][,match=app/]
 *   type=ref,event=tag|branch|pr     type=sha[,format=long]     type=raw,value=stable
 *   type=match,pattern=app/v(\d+\.\d+\.\d+),group=1
 * each with prefix=, suffix= and enable=true|false|{{is_default_branch}}. `match=` on a semver
 * rule is metadata-action's regular expression when it has a capture group (`match=v(\d.\d.\d)$`:
 * group 1 is the version); without one it is a prefix (monorepo tags such as `app/v1.2.3`),
 * kept only when the Git tag starts with it and stripped before parsing.
 */
export interface TypedRule {
  type: 'semver' | 'ref' | 'sha' | 'raw' | 'match'
  attrs: Record<string, string>
}

const TYPES = ['semver', 'ref', 'sha', 'raw', 'match'] as const
const COMMON = ['prefix', 'suffix', 'enable', 'priority']
const KEYS: Record<TypedRule['type'], string[]> = {
  semver: ['pattern', 'value', 'match'],
  ref: ['event'],
  sha: ['format'],
  raw: ['value'],
  match: ['pattern', 'group', 'value']
}
const SEMVER_PLACEHOLDERS = ['version', 'major', 'minor', 'patch', 'raw']
/** metadata-action's global expressions in value=, prefix= and suffix= (those we expand). */
const GLOBAL_EXPRESSIONS = ['branch', 'tag', 'sha']

export function isTypedRule(line: string): boolean {
  return /^\s*type\s*=/.test(line)
}

/** Splits `k=v,k=v` at commas that start a new `key=`, so a regex may contain commas. */
export function parseTypedRule(input: string, line: string): TypedRule {
  const bad = (why: string): never => {
    throw new ConfigurationError(
      `input \`${input}\` = \`${line}\`: ${why}; e.g. type=semver,pattern={{major}}.{{minor}} or type=ref,event=branch`,
      input
    )
  }
  const attrs: Record<string, string> = {}
  for (const part of line.split(/,(?=\s*[a-z-]+\s*=)/)) {
    const eq = part.indexOf('=')
    if (eq < 0) bad(`\`${part}\` is not key=value`)
    const key = part.slice(0, eq).trim()
    if (key in attrs) bad(`\`${key}\` is given twice`)
    attrs[key] = part.slice(eq + 1).trim()
  }
  const type = attrs.type as TypedRule['type']
  if (!(TYPES as readonly string[]).includes(type))
    bad(`unknown type \`${attrs.type}\`; accepted: ${TYPES.join(', ')}`)
  delete attrs.type
  for (const key of Object.keys(attrs))
    if (![...KEYS[type], ...COMMON].includes(key))
      bad(
        `\`${key}\` is not an attribute of type=${type}; accepted: ${[...KEYS[type], ...COMMON].join(', ')}`
      )
  if (
    attrs.enable !== undefined &&
    !['true', 'false', '{{is_default_branch}}'].includes(attrs.enable)
  )
    bad('`enable` is true, false or {{is_default_branch}}')
  for (const key of ['value', 'prefix', 'suffix'])
    for (const m of (attrs[key] ?? '').matchAll(/\{\{\s*([^}]*?)\s*\}\}/g))
      if (!GLOBAL_EXPRESSIONS.includes(m[1]))
        bad(
          `\`${key}\` uses {{${m[1]}}}, which this action does not expand; accepted: ${GLOBAL_EXPRESSIONS.map((e) => `{{${e}}}`).join(' ')}`
        )
  if (type === 'ref' && !['tag', 'branch', 'pr'].includes(attrs.event ?? ''))
    bad('type=ref needs event=tag, event=branch or event=pr')
  if (type === 'raw' && !attrs.value) bad('type=raw needs value=')
  if (type === 'sha' && attrs.format !== undefined && !['short', 'long'].includes(attrs.format))
    bad('format is short or long')
  if (type === 'semver') {
    for (const m of (attrs.pattern ?? '{{version}}').matchAll(/\{\{\s*([^}]*?)\s*\}\}/g))
      if (!SEMVER_PLACEHOLDERS.includes(m[1]))
        bad(
          `unknown placeholder {{${m[1]}}}; accepted: ${SEMVER_PLACEHOLDERS.map((p) => `{{${p}}}`).join(' ')}`
        )
  }
  if (type === 'semver' && attrs.match !== undefined && /\((?!\?)/.test(attrs.match)) {
    try {
      new RegExp(attrs.match)
    } catch (e) {
      bad(`match is not a regular expression (${(e as Error).message})`)
    }
  }
  if (type === 'match') {
    if (!attrs.pattern) bad('type=match needs pattern=<regular expression>')
    try {
      new RegExp(attrs.pattern)
    } catch (e) {
      bad(`pattern is not a regular expression (${(e as Error).message})`)
    }
    if (attrs.group !== undefined && !/^\d{1,2}$/.test(attrs.group)) bad('group is a number')
  }
  return { type, attrs }
}

export interface RuleOutput {
  tags: string[]
  /** A release (non pre-release) version this rule tagged: what `latest: auto` follows. */
  release: boolean
}

const refTag = (ctx: GitContext) => /^refs\/tags\/(.+)$/.exec(ctx.ref)?.[1]
const refBranch = (ctx: GitContext) => /^refs\/heads\/(.+)$/.exec(ctx.ref)?.[1]
const refPr = (ctx: GitContext) => /^refs\/pull\/(\d+)\//.exec(ctx.ref)?.[1]

/**
 * metadata-action's semver rules: a pre-release fills every pattern but `{{raw}}` with
 * `{{version}}` (it must never move `1` or `1.2`). Our rule, not metadata-action's (it tags
 * `0`): `{{major}}` alone on 0.x is not generated, as 0.x promises no compatibility between
 * minors, so a `0` tag would mislead.
 */
function semverTag(pattern: string, raw: string, v: semver.SemVer): string | undefined {
  const pre = v.prerelease.length > 0
  const uses = (p: string) => new RegExp(`\\{\\{\\s*${p}\\s*\\}\\}`).test(pattern)
  // metadata-action (src/meta.ts procSemver): a pre-release renders `{{raw}}` patterns as
  // they are and every other pattern as `{{version}}`, so `{{major}}` gives `2.0.8-beta.67`.
  if (pre && !uses('raw')) pattern = '{{version}}'
  // Any pattern of the major alone (`{{major}}`, `v{{major}}`, `{{major}}-alpine`) on 0.x.
  if (v.major === 0 && uses('major') && !['minor', 'patch', 'version', 'raw'].some(uses))
    return undefined
  const values: Record<string, string> = {
    version: v.version,
    major: String(v.major),
    minor: String(v.minor),
    patch: String(v.patch),
    raw
  }
  return pattern.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_m, k: string) => values[k] ?? '')
}

/** metadata-action's setGlobalExp: `{{branch}}`/`{{tag}}` (empty elsewhere), `{{sha}}` (7 hex). */
function globalExp(value: string | undefined, ctx: GitContext): string | undefined {
  if (value === undefined) return undefined
  const values: Record<string, string> = {
    branch: refBranch(ctx) ?? '',
    tag: refTag(ctx) ?? '',
    sha: (ctx.sha ?? '').slice(0, 7)
  }
  return value.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_m, k: string) => values[k] ?? '')
}

/** The tags one typed rule gives for this Git context (before sanitising). */
export function applyTypedRule(rule: TypedRule, ctx: GitContext): RuleOutput {
  const a = {
    ...rule.attrs,
    ...(['value', 'prefix', 'suffix'] as const).reduce<Record<string, string>>((out, key) => {
      const v = globalExp(rule.attrs[key], ctx)
      if (v !== undefined) out[key] = v
      return out
    }, {})
  }
  const none: RuleOutput = { tags: [], release: false }
  if (a.enable === 'false') return none
  if (
    a.enable === '{{is_default_branch}}' &&
    (!ctx.defaultBranch || refBranch(ctx) !== ctx.defaultBranch)
  )
    return none
  const wrap = (tags: string[], release = false): RuleOutput => ({
    tags: tags.map((t) => `${a.prefix ?? ''}${t}${a.suffix ?? ''}`),
    release
  })
  switch (rule.type) {
    case 'semver': {
      let raw = a.value ?? refTag(ctx)
      if (raw === undefined) return none
      if (a.match !== undefined) {
        if (/\((?!\?)/.test(a.match)) {
          // metadata-action's match=: a regular expression whose group 1 is the version.
          const m = new RegExp(a.match).exec(raw)
          if (!m?.[1]) return none
          raw = m[1]
        } else {
          if (!raw.startsWith(a.match)) return none
          raw = raw.slice(a.match.length)
        }
      }
      const v = semver.parse(raw)
      if (!v) return none
      const tag = semverTag(a.pattern ?? '{{version}}', raw, v)
      return wrap(tag === undefined ? [] : [tag], v.prerelease.length === 0)
    }
    case 'match': {
      const source = a.value ?? refTag(ctx)
      const m = source === undefined ? null : new RegExp(a.pattern).exec(source)
      const value = m?.[Number(a.group ?? 0)]
      if (!value) return none
      return wrap([value], semver.valid(value) !== null && semver.prerelease(value) === null)
    }
    case 'ref': {
      const value =
        a.event === 'tag'
          ? refTag(ctx)
          : a.event === 'branch'
            ? refBranch(ctx)
            : refPr(ctx) && `pr-${refPr(ctx)}`
      // metadata-action's latest=auto covers type=ref,event=tag; ours on a release version only.
      const tagged = a.event === 'tag' && value !== undefined
      const v = tagged ? semver.parse(value) : null
      return wrap(value ? [value] : [], v !== null && v.prerelease.length === 0)
    }
    case 'sha': {
      if (!ctx.sha) return none
      const sha = a.format === 'long' ? ctx.sha : ctx.sha.slice(0, 7)
      // metadata-action's default prefix for sha tags.
      return { tags: [`${a.prefix ?? 'sha-'}${sha}${a.suffix ?? ''}`], release: false }
    }
    case 'raw':
      return wrap([a.value])
  }
}
