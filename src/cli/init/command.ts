import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline/promises'
import { ConfigurationError, describeFailure, EXIT } from '../../core/errors.js'
import { closeMatches } from '../args.js'
import { INIT_FLAGS, validateInit } from './options.js'
import { handEdits, renderInit, type InitFile } from './render.js'

export interface InitStreams {
  out: (text: string) => void
  err: (text: string) => void
}

export interface InitContext {
  cwd: string
  /** Asks for a missing flag (only when stdin is a terminal); undefined: never ask. */
  ask?: (question: string) => Promise<string>
}

const SWITCHES = ['dry-run', 'force', 'help']

export function initHelp(): string {
  const lines = [
    'Usage: ops-actions init --org <org> --service <name> --router <router> --platform <platform>',
    '                        --registry <registry> [--environments staging,production] [--dry-run] [--force]',
    '',
    'Writes the caller workflows (.github/workflows/ops-deploy-<env>.yml, ops-rollback-<env>.yml)',
    'and one settings file per environment (.github/ops-actions/<env>.yml). Every value to replace',
    'contains CHANGE-ME; the actions refuse to run while one is left. On a terminal, missing flags',
    'are asked for.',
    '',
    ...Object.entries(INIT_FLAGS).map(([flag, what]) => `  --${flag}  ${what}`),
    '  --dry-run  print the files instead of writing them',
    '  --force  overwrite files that exist',
    ''
  ]
  return lines.join('\n')
}

/** `--name value` / `--name=value`; --dry-run, --force and --help take no value. */
export function parseInitArgs(argv: string[]): Record<string, string> {
  const known = [...Object.keys(INIT_FLAGS), ...SWITCHES]
  const values: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '-h') {
      values.help = 'true'
      continue
    }
    if (!arg.startsWith('--'))
      throw new ConfigurationError(`unexpected argument \`${arg}\`: options are --<name> <value>`)
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
    if (!known.includes(name)) {
      const close = closeMatches(name, known)
      throw new ConfigurationError(
        `unknown option --${name} for init${close.length ? `; did you mean ${close.map((c) => `--${c}`).join(', ')}?` : ''} (see ops-actions init --help)`,
        name
      )
    }
    if (name in values) throw new ConfigurationError(`option --${name} is given twice`, name)
    if (SWITCHES.includes(name)) {
      if (eq > 0) throw new ConfigurationError(`option --${name} takes no value`, name)
      values[name] = 'true'
      continue
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || (eq < 0 && value.startsWith('--')))
      throw new ConfigurationError(`option --${name} needs a value (${INIT_FLAGS[name]})`, name)
    values[name] = value
  }
  return values
}

function show(files: InitFile[]): string {
  return files.map((f) => `==> ${f.path} <==\n${f.content}`).join('\n')
}

/** `ops-actions init ...`: returns the exit code. */
export async function runInit(
  argv: string[],
  streams: InitStreams,
  context: InitContext
): Promise<number> {
  try {
    const raw = parseInitArgs(argv)
    if (raw.help) {
      streams.out(initHelp())
      return EXIT.ok
    }
    if (context.ask) {
      for (const flag of ['org', 'service', 'router', 'platform', 'registry']) {
        if (raw[flag] === undefined)
          raw[flag] = (await context.ask(`${flag} (${INIT_FLAGS[flag]}): `)).trim()
      }
    }
    const options = validateInit(raw)
    const files = renderInit(options)
    const edits = handEdits(options)
    const next = `\nStill to do by hand (${edits.length}):\n${edits.map((e) => `  - ${e}`).join('\n')}\n`
    if (raw['dry-run']) {
      streams.out(`${show(files)}${next}`)
      return EXIT.ok
    }
    const root = resolve(context.cwd, raw.dir ?? '.')
    const existing = files.filter((f) => existsSync(join(root, f.path))).map((f) => f.path)
    if (existing.length && !raw.force)
      throw new ConfigurationError(
        `these files exist and are kept: ${existing.join(', ')}; use --force to overwrite them (nothing was written)`
      )
    for (const f of files) {
      const path = join(root, f.path)
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, f.content)
      if (f.mode) chmodSync(path, f.mode)
      streams.out(`wrote ${f.path}\n`)
    }
    streams.out(next)
    return EXIT.ok
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error
    streams.err(`${describeFailure(error)}\n`)
    return EXIT.configuration
  }
}

/** Prompts on a terminal only: a pipe or CI never waits for an answer. */
export function terminalAsk(): InitContext['ask'] {
  if (!process.stdin.isTTY || !process.stdout.isTTY) return undefined
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout })
    try {
      return await rl.question(question)
    } finally {
      rl.close()
    }
  }
}
