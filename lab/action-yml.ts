import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

export interface ActionInputSpec {
  description?: string
  required?: boolean
  default?: string
}

export interface ActionYml {
  name: string
  description: string
  inputs: Record<string, ActionInputSpec>
  outputs: Record<string, { description?: string }>
  runs: { using: string; main: string; post?: string; 'post-if'?: string }
}

export const repoRoot = new URL('..', import.meta.url).pathname

/** `deploy-bluegreen` -> actions/deploy-bluegreen; a path (with a slash) is taken as it is. */
export function actionDir(name: string): string {
  return name.includes('/') ? name : join(repoRoot, 'actions', name)
}

export function readActionYml(name: string): ActionYml {
  const doc = parse(readFileSync(join(actionDir(name), 'action.yml'), 'utf8')) as ActionYml
  return { ...doc, inputs: doc.inputs ?? {}, outputs: doc.outputs ?? {} }
}

/** The runner's rule: `INPUT_` + name upper-cased with spaces to `_`; dashes are kept. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}
