import type { ActionIO } from '../core/action.js'
import { Inputs, type InputSource } from '../core/inputs.js'
import { redact } from '../core/log.js'
import { runContextFromEnv } from '../core/run-context.js'

/** What a CLI run produced, printed once the action has finished. */
export interface CliRecord {
  outputs: Map<string, string>
  summaries: string[]
}

/**
 * The ActionIO of a terminal run: inputs from the command line (action.yml defaults filled in),
 * outputs and summary kept to be printed at the end, state in memory for the post step.
 */
export function cliIO(
  values: Record<string, string>,
  source: InputSource = (name) => values[name] ?? ''
): { io: ActionIO; record: CliRecord } {
  const record: CliRecord = { outputs: new Map(), summaries: [] }
  const state = new Map<string, string>()
  const io: ActionIO = {
    inputs: new Inputs(source),
    // The CLI also runs inside workflows (a rollback step): the same variables, when present.
    context: runContextFromEnv(),
    setOutput: (name, value) => void record.outputs.set(name, redact(String(value))),
    writeSummary: async (markdown) => void record.summaries.push(redact(markdown)),
    saveState: (name, value) => void state.set(name, value),
    getState: (name) => state.get(name) ?? ''
  }
  return { io, record }
}

/** `name=value`, or the heredoc form GITHUB_OUTPUT uses when the value has line breaks. */
export function formatOutputs(outputs: Map<string, string>): string {
  const lines: string[] = []
  for (const [name, value] of outputs) {
    if (!value.includes('\n')) {
      lines.push(`${name}=${value}`)
      continue
    }
    let delimiter = 'EOF'
    while (value.split('\n').includes(delimiter)) delimiter += '_'
    lines.push(`${name}<<${delimiter}`, value, delimiter)
  }
  return lines.join('\n')
}
