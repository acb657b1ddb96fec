import { describe, expect, test } from '@jest/globals'
import { join } from 'node:path'
import { readActionYml, repoRoot } from '../../lab/action-yml.js'
import { listActionDirs } from '../../src/cli/action-spec.js'
import {
  checkActionNames,
  checkNames,
  namesUsed,
  sourceFilesOf
} from '../../tools/action-names/check.js'

const fixture = join(repoRoot, 'test/fixtures/action-names')

describe('the names check itself, on a fixture action', () => {
  const files = sourceFilesOf(join(fixture, 'src/index.ts'))
  const used = namesUsed(files, fixture)
  const problems = checkNames(readActionYml(join(fixture, 'actions/typo')), used)

  test('follows imports to the module that reads the inputs', () => {
    expect(files.map((f) => f.slice(fixture.length + 1))).toEqual(['src/index.ts', 'src/probe.ts'])
    expect([...new Set(used.inputs.map((u) => u.name))].sort()).toEqual([
      'header-nmae',
      'helth-${slot}',
      'helth-url',
      'pasword',
      'retries-${slot}',
      'retrys-blue',
      'timeout',
      'username'
    ])
  })

  test.each([
    [
      'a mistyped input',
      /src\/probe\.ts:22: reads input `helth-url`, which action.yml does not declare/
    ],
    [
      "a mistyped input given as a helper's second argument",
      /src\/probe\.ts:15: reads input `pasword`, which action.yml does not declare/
    ],
    [
      'a mistyped input given to a closure',
      /src\/probe\.ts:16: reads input `header-nmae`, which action.yml does not declare/
    ],
    [
      'a template no declared input matches',
      /src\/probe\.ts:18: reads input `helth-\$\{slot\}`, which action.yml does not declare/
    ],
    [
      'a mistyped input in the list a loop reads',
      /src\/probe\.ts:19: reads input `retrys-blue`, which action.yml does not declare/
    ],
    ['an undeclared output', /sets output `checked-by`, which action.yml does not declare/],
    [
      'a mistyped output set through a helper',
      /src\/index\.ts:\d+: sets output `stauts`, which action.yml does not declare/
    ],
    ['a state nothing saves', /reads state `finished-at`, which no step of the action saves/]
  ])('reports %s', (_what, message) => {
    expect(problems.some((p) => message.test(p))).toBe(true)
  })

  test('declared names are not reported', () => {
    expect(problems.join('\n')).not.toMatch(
      /`timeout`|`username`|`retries-\$\{slot\}`|`status`|`checked-at`|`started-at`/
    )
    expect(problems).toHaveLength(8)
  })

  test('a name computed at run time is listed as unchecked', () => {
    expect(used.unchecked.map((u) => `${u.name} ${u.at}`)).toEqual(['computed src/probe.ts:21'])
  })
})

describe('every name an action reads or writes is in its action.yml', () => {
  test.each(listActionDirs(repoRoot))('%s', (name) => {
    expect(checkActionNames(repoRoot, name, readActionYml(name))).toEqual([])
  })

  test('the check sees the inputs of every action (not a check of nothing)', () => {
    for (const name of listActionDirs(repoRoot)) {
      const used = namesUsed(sourceFilesOf(join(repoRoot, 'src/actions', name, 'index.ts')))
      const declared = Object.keys(readActionYml(name).inputs)
      const seen = new Set(used.inputs.map((u) => u.name))
      // Names built at run time (`health-url-${slot}`) are not seen; most must be.
      expect(declared.filter((n) => seen.has(n)).length).toBeGreaterThan(declared.length * 0.8)
    }
  })
})
