import { ConfigurationError, describeFailure, EXIT, exitCodeFor } from '../core/errors.js'
import { log } from '../core/log.js'
import {
  findRepoRoot,
  isSecretInput,
  listActionDirs,
  readActionSpec,
  readVersion
} from './action-spec.js'
import { closeMatches, parseArgs } from './args.js'
import { actionHelp, generalHelp } from './help.js'
import { cliIO, formatOutputs } from './io.js'
import { ACTIONS } from './registry.js'
import { runInit, terminalAsk } from './init/command.js'
import { settingsLayer, type SettingsLayer } from '../settings/layer.js'

export interface CliStreams {
  out: (text: string) => void
  err: (text: string) => void
}

const processStreams: CliStreams = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text)
}

/**
 * `ops-actions <action> --<input> <value> ...`: runs the action's own `run` (and `post`) with
 * the action.yml defaults, prints the summary and the outputs, returns the action's exit code.
 */
export async function runCli(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  streams: CliStreams = processStreams
): Promise<number> {
  const root = findRepoRoot()
  const available = listActionDirs(root).filter((name) => name in ACTIONS)
  const [action, ...rest] = argv
  if (action === undefined || action === '--help' || action === '-h') {
    const text = generalHelp(available.map((name) => readActionSpec(root, name)))
    if (action === undefined) {
      streams.err(text)
      return EXIT.configuration
    }
    streams.out(text)
    return EXIT.ok
  }
  if (action === 'init')
    return runInit(rest, streams, {
      cwd: process.cwd(),
      ask: streams === processStreams ? terminalAsk() : undefined
    })
  if (action === '--version' || action === '-V') {
    streams.out(`ops-actions ${readVersion(root)}\n`)
    return EXIT.ok
  }
  if (!available.includes(action)) {
    const close = closeMatches(action, available)
    streams.err(
      `error: unknown action \`${action}\`${close.length ? `; did you mean ${close.join(', ')}?` : ''} Actions: ${available.join(', ')}\n`
    )
    return EXIT.configuration
  }
  const spec = readActionSpec(root, action)
  let values: Record<string, string>
  let given: Record<string, unknown> = {}
  try {
    const parsed = parseArgs(rest, spec, env)
    if (parsed.help) {
      streams.out(actionHelp(spec))
      return EXIT.ok
    }
    given = parsed.given
    values = {}
    for (const [name, input] of Object.entries(spec.inputs)) {
      const value = parsed.given[name]?.value ?? input.default
      if (value === undefined) continue
      if (isSecretInput(name, input)) log.secret(value)
      values[name] = value
    }
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error
    streams.err(`${describeFailure(error)}\n`)
    return EXIT.configuration
  }

  let layer: SettingsLayer
  try {
    // Flags beat the settings file; the file beats action.yml defaults.
    layer = settingsLayer(
      (name) => values[name] ?? '',
      spec,
      (name) => name in given
    )
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error
    streams.err(`${describeFailure(error)}\n`)
    return EXIT.configuration
  }
  const { io, record } = cliIO(values, layer.source)
  const entry = ACTIONS[action]
  let code: number = EXIT.ok
  let failure: string | undefined
  try {
    await entry.run(io)
  } catch (error) {
    code = exitCodeFor(error)
    failure = describeFailure(layer.attribute(error))
  }
  // As on the runner (post-if: always()): the post step puts things back after an unfinished run.
  if (entry.post) {
    try {
      await entry.post(io)
    } catch (error) {
      log.warning(`post step: ${describeFailure(error)}`)
    }
  }
  for (const markdown of record.summaries) streams.out(`\n${markdown.trimEnd()}\n`)
  // describeFailure already says which kind of failure it is: no second "error:" before it.
  if (failure) streams.err(`${failure}\n`)
  if (record.outputs.size) streams.out(`\n${formatOutputs(record.outputs)}\n`)
  return code
}
