/**
 * `npx tsx scripts/init-templates.ts`: writes the per-platform starter templates
 * (workflow-templates/ops-<platform>-{deploy,rollback}.yml + .properties.json) from the same
 * renderer as `ops-actions init`, with the `example-org` placeholder. test/cli/init-templates.test.ts
 * fails when they drift from the renderer.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { STARTERS, starterFiles } from '../src/cli/init/starters.js'

const root = new URL('..', import.meta.url).pathname
for (const starter of STARTERS) {
  for (const file of starterFiles(starter)) {
    writeFileSync(join(root, 'workflow-templates', file.path), file.content)
    console.log(`wrote workflow-templates/${file.path}`)
  }
}
