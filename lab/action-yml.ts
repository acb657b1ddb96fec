import { join } from 'node:path'
import { readActionYml as readSpec, type ActionYml } from '../src/core/action-yml.js'

export { inputEnvName } from '../src/core/action-yml.js'

export const repoRoot = new URL('..', import.meta.url).pathname

/** `deploy-bluegreen` -> actions/deploy-bluegreen; a path (with a slash) is taken as it is. */
export function actionDir(name: string): string {
  return name.includes('/') ? name : join(repoRoot, 'actions', name)
}

/** The action.yml of an action of this repository (by name) or of a fixture (by path). */
export function readActionYml(name: string): ActionYml {
  return readSpec(actionDir(name))
}
