import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parse } from 'yaml'

export interface InputSpec {
  description: string
  required: boolean
  default?: string
}

/** An action's contract as its action.yml states it: inputs (with defaults), outputs, runs. */
export interface ActionYml {
  /** The action's folder name (`deploy-bluegreen`), as the CLI and the runner call it. */
  name: string
  description: string
  inputs: Record<string, InputSpec>
  outputs: Record<string, { description: string }>
  runs: { using: string; main: string; post?: string; 'post-if'?: string }
}

/** Reads `<dir>/action.yml`: the one reader of the file, for the CLI, the lab and the tests. */
export function readActionYml(dir: string): ActionYml {
  const doc = (parse(readFileSync(join(dir, 'action.yml'), 'utf8')) ?? {}) as {
    description?: string
    inputs?: Record<string, { description?: string; required?: boolean; default?: unknown }>
    outputs?: Record<string, { description?: string }>
    runs?: ActionYml['runs']
  }
  const inputs: Record<string, InputSpec> = {}
  for (const [key, value] of Object.entries(doc.inputs ?? {})) {
    inputs[key] = {
      description: value?.description ?? '',
      required: value?.required === true,
      default: value?.default === undefined ? undefined : String(value.default)
    }
  }
  const outputs: Record<string, { description: string }> = {}
  for (const [key, value] of Object.entries(doc.outputs ?? {})) {
    outputs[key] = { description: value?.description ?? '' }
  }
  return {
    name: basename(dir),
    description: doc.description ?? '',
    inputs,
    outputs,
    runs: doc.runs ?? { using: '', main: '' }
  }
}

/** The runner's rule: `INPUT_` + name upper-cased with spaces to `_`; dashes are kept. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}
