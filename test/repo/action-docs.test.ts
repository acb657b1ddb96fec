import { describe, expect, it } from '@jest/globals'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readActionYml, repoRoot } from '../../lab/action-yml.js'

const actions = readdirSync(join(repoRoot, 'actions'))
  .filter((n) => existsSync(join(repoRoot, 'actions', n, 'action.yml')))
  .sort()

type Kind = 'inputs' | 'outputs'

/**
 * The names a README documents: the backticked names in the first column of the rows of its
 * tables that sit under a heading about inputs or outputs (`## Inputs`, `### Router inputs`).
 */
function documentedNames(markdown: string): Record<Kind, string[]> {
  const found: Record<Kind, string[]> = { inputs: [], outputs: [] }
  const headings: { level: number; text: string }[] = []
  let inTable = false
  let inFence = false
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence
    if (inFence) continue
    const heading = /^(#{1,6})\s+(.*)$/.exec(line)
    if (heading) {
      const level = heading[1].length
      while (headings.length && headings[headings.length - 1].level >= level) headings.pop()
      headings.push({ level, text: heading[2] })
      continue
    }
    if (!line.trimStart().startsWith('|')) {
      inTable = false
      continue
    }
    if (/^\s*\|[\s:|-]+\|\s*$/.test(line)) {
      inTable = true // the header separator: rows follow
      continue
    }
    if (!inTable) continue
    const section = [...headings].reverse().find((h) => /\b(inputs?|outputs?)\b/i.test(h.text))
    if (!section) continue
    const kind: Kind = /\binputs?\b/i.test(section.text) ? 'inputs' : 'outputs'
    const firstCell = line.trim().slice(1).split('|')[0]
    for (const m of firstCell.matchAll(/`([^`]+)`/g)) found[kind].push(m[1])
  }
  return found
}

describe('documentedNames', () => {
  it('reads first-column names of the tables under input and output headings only', () => {
    const md = [
      '# x',
      '## Tags',
      '| rule | x |',
      '| --- | --- |',
      '| `semver` | 1 |',
      '## Inputs',
      '| input | default |',
      '| --- | --- |',
      '| `router` | (required) `mode` |',
      '### Router: HAProxy',
      '| input | default |',
      '| :-- | --- |',
      '| `haproxy-socket` | |',
      '```',
      '| `not-a-row` | |',
      '```',
      '## Outputs',
      '| output | description |',
      '| --- | --- |',
      '| `live-slot` | the `switched` one |',
      '## Example',
      '| `other` | |'
    ].join('\n')
    expect(documentedNames(md)).toEqual({
      inputs: ['router', 'haproxy-socket'],
      outputs: ['live-slot']
    })
  })
})

describe.each(actions)('actions/%s', (name) => {
  const spec = readActionYml(name)
  const readmePath = join(repoRoot, 'actions', name, 'README.md')

  it('runs on node24 from dist/index.js (and post from the same bundle)', () => {
    expect(spec.runs.using).toBe('node24')
    expect(spec.runs.main).toBe('dist/index.js')
    if (spec.runs.post) expect(spec.runs.post).toBe('dist/index.js')
  })

  it('has a README', () => {
    expect(existsSync(readmePath)).toBe(true)
  })

  const doc = existsSync(readmePath)
    ? documentedNames(readFileSync(readmePath, 'utf8'))
    : { inputs: [], outputs: [] }

  it('documents every input of action.yml in its inputs tables, and no other', () => {
    const declared = Object.keys(spec.inputs)
    expect({
      missing: declared.filter((i) => !doc.inputs.includes(i)),
      unknown: doc.inputs.filter((i) => !declared.includes(i))
    }).toEqual({ missing: [], unknown: [] })
  })

  it('documents every output of action.yml in its outputs table, and no other', () => {
    const declared = Object.keys(spec.outputs)
    expect({
      missing: declared.filter((o) => !doc.outputs.includes(o)),
      unknown: doc.outputs.filter((o) => !declared.includes(o))
    }).toEqual({ missing: [], unknown: [] })
  })
})

describe('all actions', () => {
  it('agree on the runtime', () => {
    expect(new Set(actions.map((n) => readActionYml(n).runs.using))).toEqual(new Set(['node24']))
  })
})
