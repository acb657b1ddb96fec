import { readFileSync } from 'node:fs'
import { ConfigurationError } from '../core/errors.js'
import { isSecretInput, secretEnvName, type ActionSpec } from './action-spec.js'

/** Where a value came from, so an error can say which flag or variable to fix. */
export type ValueSource = 'flag' | 'file' | 'env' | 'default'

export interface ParsedArgs {
  help: boolean
  /** Values given by the user (flags, files, environment), before action.yml defaults. */
  given: Record<string, { value: string; from: ValueSource }>
}

const BOOLEAN_DEFAULTS = ['true', 'false']

/** Edit distance, to suggest `--health-url-blue` for `--health-url-bleu`. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]
}

/** Up to five input names close to `name` (small edit distance, or one contains the other). */
export function closeMatches(name: string, known: string[]): string[] {
  return known
    .map((k) => ({ k, d: distance(name, k) }))
    .filter(
      ({ k, d }) =>
        d <= Math.max(2, Math.floor(name.length / 4)) || k.includes(name) || name.includes(k)
    )
    .sort((a, b) => a.d - b.d)
    .slice(0, 5)
    .map(({ k }) => k)
}

function unknownFlag(flag: string, spec: ActionSpec): never {
  const close = closeMatches(flag, Object.keys(spec.inputs))
  const hint = close.length
    ? `; did you mean ${close.map((c) => `--${c}`).join(', ')}?`
    : `; see ops-actions ${spec.name} --help`
  throw new ConfigurationError(`unknown option --${flag} for ${spec.name}${hint}`, flag)
}

/** `--name value`, `--name=value`, `--name-file path`; a bare boolean flag means true. */
export function parseArgs(argv: string[], spec: ActionSpec, env: NodeJS.ProcessEnv): ParsedArgs {
  const given: ParsedArgs['given'] = {}
  let help = false
  const set = (name: string, value: string, from: ValueSource): void => {
    const before = given[name]
    if (before && before.from !== 'env') {
      throw new ConfigurationError(
        `input \`${name}\` is given twice (--${name} and --${name}-file, or repeated)`,
        name
      )
    }
    given[name] = { value, from }
  }
  for (const [name, input] of Object.entries(spec.inputs)) {
    const fromEnv = env[secretEnvName(name)]
    if (isSecretInput(name, input) && fromEnv !== undefined && fromEnv !== '')
      given[name] = { value: fromEnv, from: 'env' }
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--help' || arg === '-h') {
      help = true
      continue
    }
    if (!arg.startsWith('--') || arg === '--') {
      throw new ConfigurationError(
        `unexpected argument \`${arg}\`: inputs are given as --<input> <value>`
      )
    }
    const eq = arg.indexOf('=')
    const flag = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
    let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined
    const asFile =
      !(flag in spec.inputs) && flag.endsWith('-file') && flag.slice(0, -5) in spec.inputs
    const name = asFile ? flag.slice(0, -5) : flag
    if (!(name in spec.inputs)) unknownFlag(flag, spec)
    if (value === undefined) {
      const next = argv[i + 1]
      if (next !== undefined && !next.startsWith('--')) {
        value = next
        i++
      } else if (!asFile && BOOLEAN_DEFAULTS.includes(spec.inputs[name].default ?? '')) {
        value = 'true'
      } else {
        throw new ConfigurationError(`option --${flag} needs a value`, name)
      }
    }
    if (asFile) set(name, readValueFile(flag, value), 'file')
    else set(name, value, 'flag')
  }
  return { help, given }
}

/** A value read from a file; one trailing newline is dropped (what `echo` and editors add). */
function readValueFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '')
  } catch (error) {
    throw new ConfigurationError(
      `option --${flag} \`${path}\`: cannot read the file (${(error as Error).message})`,
      flag
    )
  }
}
