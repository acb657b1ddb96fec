import { existsSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import type { InputSource } from '../core/inputs.js'
import { readActionSpec, type ActionSpec } from '../cli/action-spec.js'
import { attributeToSettings, layeredSource, readSettingsFile } from './settings-file.js'

/** The inputs an action sees once its settings file (input `settings-file`) is read. */
export interface SettingsLayer {
  source: InputSource
  /** Adds the file and key to a configuration error about a value taken from the file. */
  attribute(error: unknown): unknown
}

const identity = (source: InputSource): SettingsLayer => ({ source, attribute: (e) => e })

/**
 * Layers the settings file under the given inputs when the action declares `settings-file` and
 * it is set. `isGiven` says whether an input was given explicitly (see layeredSource).
 */
export function settingsLayer(
  source: InputSource,
  spec: ActionSpec | undefined,
  isGiven: (name: string) => boolean,
  cwd = process.cwd()
): SettingsLayer {
  if (!spec || !('settings-file' in spec.inputs)) return identity(source)
  const path = (source('settings-file') ?? '').trim()
  if (path === '') return identity(source)
  const settings = readSettingsFile(path, spec.name, Object.keys(spec.inputs), cwd)
  return {
    source: layeredSource(source, settings, isGiven),
    attribute: (error) => attributeToSettings(error, settings, isGiven)
  }
}

/** On GitHub the runner fills action.yml defaults in: a value equal to its default is not "given". */
export function givenOnGitHub(
  source: InputSource,
  spec: ActionSpec | undefined
): (name: string) => boolean {
  return (name) => {
    const value = (source(name) ?? '').trim()
    const fallback = (spec?.inputs[name]?.default ?? '').trim()
    return value !== '' && value !== fallback
  }
}

/** The action.yml of the running bundle (actions/<name>/dist/index.js), if it has one. */
export function bundleActionSpec(entry = process.argv[1]): ActionSpec | undefined {
  if (!entry) return undefined
  const actionDir = resolve(dirname(entry), '..')
  if (!existsSync(join(actionDir, 'action.yml'))) return undefined
  return readActionSpec(resolve(actionDir, '..', '..'), basename(actionDir))
}
