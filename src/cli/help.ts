import { isSecretInput, secretEnvName, type ActionSpec } from './action-spec.js'

/** Help fits a 100-column terminal. */
export const HELP_WIDTH = 100

/** Folds text into lines of at most `width` columns, each starting with `indent`. */
export function wrap(text: string, indent: string, width = HELP_WIDTH): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(indent + line)
  return lines
}

/** `ops-actions --help`: every action with the first sentence of its description. */
export function generalHelp(actions: ActionSpec[]): string {
  const width = Math.max(...actions.map((a) => a.name.length))
  return [
    'Usage: ops-actions <action> --<input> <value> ...',
    '       ops-actions <action> --help',
    '       ops-actions --version',
    '       ops-actions init --org <org> --service <name> --router <r> --platform <p> --registry <r>',
    '                        (writes caller workflows and settings files; ops-actions init --help)',
    '',
    'Runs an ops-actions action from a terminal, with the same code, inputs and exit codes as',
    'on GitHub: 0 ok, 1 a check failed, 2 bad input, 3 could not run.',
    '',
    'Actions:',
    ...actions.flatMap((a) => {
      const [first, ...rest] = wrap(a.description, ' '.repeat(width + 4))
      return [`  ${a.name.padEnd(width)}  ${first.trimStart()}`, ...rest]
    }),
    ''
  ].join('\n')
}

/** One line per input: an empty or multi-line default is shown quoted. */
function showDefault(value: string): string {
  return value === '' || value.includes('\n') ? JSON.stringify(value) : value
}

/** `ops-actions <action> --help`, generated from the action's action.yml. */
export function actionHelp(spec: ActionSpec): string {
  const lines = [
    `Usage: ops-actions ${spec.name} --<input> <value> ...`,
    '',
    ...wrap(spec.description, ''),
    '',
    'Inputs (--<input> <value>, --<input>=<value>, or --<input>-file <path> to read the value',
    'from a file):'
  ]
  for (const [name, input] of Object.entries(spec.inputs)) {
    const facts = [
      input.required ? 'required' : undefined,
      input.default !== undefined ? `default: ${showDefault(input.default)}` : undefined
    ]
    if (isSecretInput(name, input)) facts.push(`secret: also read from $${secretEnvName(name)}`)
    const shown = facts.filter(Boolean).join('; ')
    lines.push(`  --${name}${shown ? `  (${shown})` : ''}`)
    lines.push(...wrap(input.description, '      '))
  }
  lines.push('', 'Outputs (printed as name=value lines at the end):')
  for (const [name, output] of Object.entries(spec.outputs))
    lines.push(...wrap(`${name}: ${output.description}`, '  '))
  lines.push('', 'Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 could not run.', '')
  return lines.join('\n')
}
