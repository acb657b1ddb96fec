import semver from 'semver'
import { ConfigurationError } from '../core/errors.js'
import type { GitContext } from './git-context.js'
import { applyTypedRule, isTypedRule, parseTypedRule } from './tag-rules.js'

/** `true` and `auto` tag `latest` on a release version; `false` never. */
export type Latest = boolean | 'auto'

/** Placeholders a custom tag template may use; each is undefined where the ref has no value. */
export const PLACEHOLDERS = [
  'version',
  'major',
  'minor',
  'patch',
  'sha',
  'branch',
  'run-number',
  'date'
] as const
type Placeholder = (typeof PLACEHOLDERS)[number]
export const RULES = ['semver', 'sha', 'branch'] as const

/** Docker's tag grammar: 1 to 128 of [A-Za-z0-9_.-], not starting with `.` or `-`. */
export function sanitizeTag(raw: string): string {
  return raw
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128)
}

/** Checks every tag rule up front, so a typo fails before anything is built or pushed. */
export function validateTagRules(input: string, rules: string[]): void {
  for (const rule of rules) {
    if ((RULES as readonly string[]).includes(rule)) continue
    if (isTypedRule(rule)) {
      parseTypedRule(input, rule)
      continue
    }
    for (const m of rule.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
      if (!(PLACEHOLDERS as readonly string[]).includes(m[1])) {
        throw new ConfigurationError(
          `input \`${input}\` = \`${rule}\`: unknown placeholder {{${m[1]}}}; accepted: ${RULES.join(', ')}, ` +
            `or a template with ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(' ')}`,
          input
        )
      }
    }
    if (sanitizeTag(rule.replace(/\{\{[^}]*\}\}/g, 'x')) === '') {
      throw new ConfigurationError(
        `input \`${input}\` = \`${rule}\`: would never give a valid tag`,
        input
      )
    }
  }
}

function contextValues(ctx: GitContext, now: Date): Partial<Record<Placeholder, string>> {
  const tag = /^refs\/tags\/(.+)$/.exec(ctx.ref)?.[1]
  const version = tag ? semver.parse(tag) : null
  const branch = /^refs\/heads\/(.+)$/.exec(ctx.ref)?.[1]
  const pr = /^refs\/pull\/(\d+)\//.exec(ctx.ref)?.[1]
  return {
    ...(version && {
      version: version.version,
      major: String(version.major),
      minor: String(version.minor),
      patch: String(version.patch)
    }),
    ...(ctx.sha && { sha: ctx.sha.slice(0, 7) }),
    ...((branch || pr) && { branch: branch ?? `pr-${pr}` }),
    ...(ctx.runNumber && { 'run-number': ctx.runNumber }),
    date: now.toISOString().slice(0, 10).replace(/-/g, '')
  }
}

/** The semver version of a release tag (`v1.2.3` -> `1.2.3`), if the ref is one. */
export function releaseVersion(ctx: GitContext): semver.SemVer | undefined {
  const tag = /^refs\/tags\/(.+)$/.exec(ctx.ref)?.[1]
  return (tag && semver.parse(tag)) || undefined
}

function semverTags(ctx: GitContext, latest: boolean): string[] {
  const v = releaseVersion(ctx)
  if (!v) return []
  // A pre-release must never move `1`, `1.2` or `latest`, which users pull as "the newest stable".
  if (v.prerelease.length > 0) return [v.version]
  // No `0` for 0.x (our rule; metadata-action tags `0`): 0.x promises no compatibility between minors.
  return [
    v.version,
    `${v.major}.${v.minor}`,
    ...(v.major > 0 ? [`${v.major}`] : []),
    ...(latest ? ['latest'] : [])
  ]
}

function render(
  template: string,
  values: Partial<Record<Placeholder, string>>
): string | undefined {
  let missing = false
  const out = template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_m, name: Placeholder) => {
    const value = values[name]
    if (value === undefined) missing = true
    return value ?? ''
  })
  return missing ? undefined : out
}

/**
 * Tags for the Git context, in rule order, without duplicates:
 * `semver` gives 1.2.3, 1.2, 1 (+ latest) for a release tag (no `0` on 0.x) and only
 * 1.2.3-rc.1 for a pre-release; `sha` gives sha-<7 hex>; `branch` the sanitised branch name or
 * pr-<n>; `type=…` lines follow docker/metadata-action (tag-rules.ts); anything else is a
 * template, skipped when a placeholder it uses has no value for this ref.
 */
export function computeTags(
  rules: string[],
  ctx: GitContext,
  options: { latest: Latest; now?: Date }
): string[] {
  const values = contextValues(ctx, options.now ?? new Date())
  const tags: string[] = []
  let release = false
  const v = releaseVersion(ctx)
  const isRelease = v !== undefined && v.prerelease.length === 0
  for (const rule of rules) {
    if (rule === 'semver') {
      tags.push(...semverTags(ctx, options.latest !== false))
      release ||= isRelease
    } else if (rule === 'sha') tags.push(...(values.sha ? [`sha-${values.sha}`] : []))
    else if (rule === 'branch') tags.push(...(values.branch ? [values.branch] : []))
    else if (isTypedRule(rule)) {
      const out = applyTypedRule(parseTypedRule('tags', rule), ctx)
      tags.push(...out.tags)
      release ||= out.release
    } else {
      const rendered = render(rule, values)
      if (rendered !== undefined) tags.push(rendered)
      release ||=
        rendered !== undefined &&
        isRelease &&
        /\{\{\s*(version|major|minor|patch)\s*\}\}/.test(rule)
    }
  }
  // `auto` (metadata-action's): `latest` only when a rule tagged the release version, so a
  // `type=sha` or `type=raw` rule, or a monorepo `match=` for another app's tag, never moves it.
  // `true`: on any release version the ref names.
  if (options.latest === 'auto' ? release : options.latest && isRelease) tags.push('latest')
  return [...new Set(tags.map(sanitizeTag).filter((t) => t !== ''))]
}
