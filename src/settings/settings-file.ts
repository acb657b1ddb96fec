import { lstatSync, readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { isMap, isScalar, isSeq, parseDocument, visit } from 'yaml'
import { ConfigurationError } from '../core/errors.js'
import type { InputSource } from '../core/inputs.js'
import { FILE_REFUSED, isFileRefused, PLACEHOLDER, SECTIONS, SHARED_KEYS } from './keys.js'

/** A committed settings file is small; a bigger one is a mistake or an attack. */
export const MAX_SETTINGS_BYTES = 64 * 1024

/** One value read from the file, with where it came from (for error messages). */
export interface SettingValue {
  value: string
  /** e.g. `.github/ops-actions/production.yml, key deploy.router` */
  origin: string
}

export type Settings = Map<string, SettingValue>

function bad(path: string, message: string): never {
  throw new ConfigurationError(`input \`settings-file\` = \`${path}\`: ${message}`, 'settings-file')
}

function quoteList(names: Iterable<string>): string {
  return [...names].map((n) => `\`${n}\``).join(', ')
}

/**
 * Parses a settings file for one action: the shared `deploy:` map (router, slots, health: what
 * deploy, canary and rollback must agree on), then the action's own section, which wins.
 * `ownInputs` are the running action's input names (from its action.yml). Every scalar is kept
 * as its source text (YAML failsafe schema): `010` stays `010`, `yes` stays `yes`, and the
 * action's own parsers judge it exactly as they judge an input.
 */
export function parseSettings(
  text: string,
  path: string,
  action: string,
  ownInputs: readonly string[]
): Settings {
  if (Buffer.byteLength(text) > MAX_SETTINGS_BYTES)
    bad(path, `larger than ${MAX_SETTINGS_BYTES} bytes; a settings file holds a few dozen keys`)
  // The document is never expanded (no toJS), and anchors/aliases are refused below, so no
  // "billion laughs"; duplicate keys are errors.
  const doc = parseDocument(text, {
    schema: 'failsafe',
    uniqueKeys: true,
    prettyErrors: false
  })
  const problem = doc.errors[0] ?? doc.warnings[0]
  if (problem) bad(path, `not valid YAML: ${problem.message.split('\n')[0]}`)
  visit(doc, {
    Alias: () => bad(path, 'YAML aliases (*name) are not accepted; write each value out'),
    Node: (_key, node) => {
      if ((node as { anchor?: string }).anchor)
        bad(path, 'YAML anchors (&name) are not accepted; write each value out')
    }
  })
  const root = doc.contents
  if (root === null || (isScalar(root) && (root.value === '' || root.value === null)))
    bad(path, 'the file is empty')
  if (!isMap(root))
    bad(path, `expected a map with the sections ${quoteList(SECTIONS)} at the top level`)

  const sections = new Map<string, Map<string, SettingValue>>()
  for (const pair of root.items) {
    const section = isScalar(pair.key) ? String(pair.key.value) : ''
    if (!(SECTIONS as readonly string[]).includes(section))
      bad(path, `unknown section \`${section}\`; accepted sections: ${quoteList(SECTIONS)}`)
    // Another action's section is read when that action runs; this one only skips it.
    if (section !== 'deploy' && section !== action) continue
    const accepted = section === 'deploy' ? SHARED_KEYS : ownInputs
    const values = new Map<string, SettingValue>()
    if (pair.value === null || (isScalar(pair.value) && pair.value.value === '')) {
      sections.set(section, values)
      continue
    }
    if (!isMap(pair.value)) bad(path, `section \`${section}\` must be a map of input: value`)
    for (const item of pair.value.items) {
      const key = isScalar(item.key) ? String(item.key.value) : ''
      const where = `key ${section}.${key}`
      if (isFileRefused(key))
        bad(
          path,
          `${where}: ${FILE_REFUSED[key] ?? 'a secret never goes in a committed file; pass it as an input from secrets'}`
        )
      if (!accepted.includes(key)) {
        const list = accepted.filter((k) => !isFileRefused(k))
        bad(
          path,
          `${where}: unknown key; ${section === 'deploy' ? 'the shared section `deploy`' : `section \`${section}\``} accepts ${quoteList(list)}` +
            (section === 'deploy' && ownInputs.includes(key)
              ? ` (\`${key}\` belongs in section \`${action}\`)`
              : '')
        )
      }
      if (isSeq(item.value) || isMap(item.value))
        bad(
          path,
          `${where}: expected a single value (a string; for a list write one item per line in a block scalar \`|\`; for a command a JSON array in quotes)`
        )
      if (!isScalar(item.value) || item.value.value === null || String(item.value.value) === '')
        bad(path, `${where}: empty value; remove the key to use the action's default`)
      const value = String(item.value.value)
      if (value.includes(PLACEHOLDER))
        bad(
          path,
          `${where}: still the placeholder \`${value.trim()}\` written by ops-actions init; put the real value in`
        )
      values.set(key, { value, origin: `${path}, ${where}` })
    }
    sections.set(section, values)
  }
  const settings: Settings = new Map(sections.get('deploy') ?? [])
  for (const [key, value] of sections.get(action) ?? []) settings.set(key, value)
  return settings
}

/** Reads and parses the file `path` (relative to `cwd`: the workspace on GitHub). */
export function readSettingsFile(
  path: string,
  action: string,
  ownInputs: readonly string[],
  cwd = process.cwd()
): Settings {
  const full = isAbsolute(path) ? path : resolve(cwd, path)
  let text: string
  try {
    const stat = lstatSync(full)
    if (!stat.isFile()) bad(path, 'not a regular file')
    if (stat.size > MAX_SETTINGS_BYTES)
      bad(path, `larger than ${MAX_SETTINGS_BYTES} bytes; a settings file holds a few dozen keys`)
    text = readFileSync(full, 'utf8')
  } catch (error) {
    if (error instanceof ConfigurationError) throw error
    return bad(
      path,
      `cannot read the file (${(error as Error).message}); is the repository checked out (actions/checkout) before this step?`
    )
  }
  return parseSettings(text, path, action, ownInputs)
}

/**
 * Inputs given explicitly win over the file; the file wins over the action's defaults.
 * `isGiven` tells an explicit input from a default: the CLI knows; on GitHub the runner fills
 * defaults in, so there a value equal to its action.yml default counts as not given.
 */
export function layeredSource(
  source: InputSource,
  settings: Settings,
  isGiven: (name: string) => boolean
): InputSource {
  return (name) => {
    const fromFile = settings.get(name)
    if (fromFile && !isGiven(name)) return fromFile.value
    return source(name)
  }
}

/** Names the file and key in a configuration error about a value that came from the file. */
export function attributeToSettings(
  error: unknown,
  settings: Settings,
  isGiven: (name: string) => boolean
): unknown {
  if (!(error instanceof ConfigurationError)) return error
  let message = error.message
  for (const [name, { origin }] of settings) {
    if (isGiven(name)) continue
    message = message.split(`input \`${name}\``).join(`input \`${name}\` (from ${origin})`)
  }
  return message === error.message ? error : new ConfigurationError(message, error.input)
}
