import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readActionYml, type ActionYml, type InputSpec } from '../core/action-yml.js'

export type { InputSpec } from '../core/action-yml.js'

/** What the CLI needs of an action.yml: its inputs (with defaults) and outputs. */
export type ActionSpec = Omit<ActionYml, 'runs'>

/**
 * The repository root: the first folder above this file (src/cli/ when run from source,
 * cli/dist/ when bundled) that has an actions/ folder. OPS_ACTIONS_ROOT overrides it.
 */
export function findRepoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  if (process.env.OPS_ACTIONS_ROOT) return process.env.OPS_ACTIONS_ROOT
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'actions')) && existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir)
      throw new Error(`no actions/ folder above ${from}; set OPS_ACTIONS_ROOT`)
  }
}

/** The release of the checkout the CLI runs from (package.json `version`). */
export function readVersion(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }
  return pkg.version ?? 'unknown'
}

/** Actions present in the repository (folders of actions/ with an action.yml), sorted. */
export function listActionDirs(root: string): string[] {
  return readdirSync(join(root, 'actions'))
    .filter((name) => existsSync(join(root, 'actions', name, 'action.yml')))
    .sort()
}

/** Reads actions/<name>/action.yml at run time, so the CLI's defaults are the action's. */
export function readActionSpec(root: string, name: string): ActionSpec {
  return readActionYml(join(root, 'actions', name))
}

/**
 * Inputs whose values must stay out of shell history: they may also come from
 * OPS_<NAME> in the environment (or, like any input, from --<name>-file).
 */
export function isSecretInput(name: string, spec: InputSpec): boolean {
  return (
    /(^|-)(token|password|secret|key)$/.test(name) ||
    /pass a secret|\bmasked\b/i.test(spec.description)
  )
}

/** `prometheus-token` -> `OPS_PROMETHEUS_TOKEN`. */
export function secretEnvName(input: string): string {
  return `OPS_${input.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`
}
