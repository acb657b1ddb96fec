import { describe, expect, it } from '@jest/globals'
import { readActionSpec } from '../../src/cli/action-spec.js'
import { isFileRefused, SECTIONS, SHARED_KEYS } from '../../src/settings/keys.js'
import { repoRoot } from '../../lab/action-yml.js'

const readers = SECTIONS.filter((s) => s !== 'deploy')
const inputsOf = (name: string): string[] => Object.keys(readActionSpec(repoRoot, name).inputs)

describe('settings file keys', () => {
  it('every action with a section declares settings-file', () => {
    for (const action of readers) expect(inputsOf(action)).toContain('settings-file')
  })

  it('the shared section is exactly the inputs both release actions have (less per-run ones and secrets)', () => {
    const [a, b] = readers.map(inputsOf)
    const common = a.filter((n) => b.includes(n) && !isFileRefused(n))
    expect([...SHARED_KEYS].sort()).toEqual(common.sort())
  })
})
