import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { mergeCoverage, parseCoverage, percent } from '../../src/build-gate/coverage.js'
import { judgeBuild } from '../../src/build-gate/gate.js'

const lcov = `TN:
SF:src/a.js
DA:1,1
DA:2,0
BRDA:2,0,0,1
BRDA:2,0,1,-
LF:2
LH:1
end_of_record
SF:src/b.js
DA:1,3
DA:2,1
DA:3,0
end_of_record
`

const jacoco = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd"><report name="app"><sessioninfo id="x" start="1" dump="2"/><package name="com/example"><class name="com/example/Calc" sourcefilename="Calc.java"/><sourcefile name="Calc.java"><line nr="3" mi="0" ci="3" mb="0" cb="0"/><line nr="5" mi="0" ci="4" mb="1" cb="1"/><line nr="8" mi="2" ci="0" mb="0" cb="0"/><counter type="LINE" missed="1" covered="2"/></sourcefile></package></report>`

const clover = `<?xml version="1.0" encoding="UTF-8"?>
<coverage generated="1" clover="3.2.0"><project timestamp="1" name="All files"><metrics statements="4"/>
<file name="sum.js" path="/w/src/sum.js"><line num="1" count="1" type="stmt"/><line num="2" count="0" type="stmt"/><line num="3" count="1" type="cond" truecount="1" falsecount="1"/></file>
</project></coverage>`

const cobertura = `<?xml version="1.0" ?><coverage version="7.4" lines-valid="3" lines-covered="2" branches-valid="2" branches-covered="1"><sources><source>/w</source></sources><packages><package name="app"><classes><class name="m.py" filename="app/m.py"><lines><line number="1" hits="1"/><line number="2" hits="1" branch="true" condition-coverage="50% (1/2)"/><line number="4" hits="0"/></lines></class></classes></package></packages></coverage>`

const goProfile = `mode: set
example.com/m/a/a.go:3.24,5.2 1 1
example.com/m/a/a.go:5.2,7.3 2 0
example.com/m/a/a.go:3.24,5.2 1 0
`

describe('parseCoverage', () => {
  it.each([
    [
      'lcov (DA lines, BRDA branches)',
      lcov,
      'lcov',
      { covered: 3, total: 5 },
      { covered: 1, total: 2 }
    ],
    ['JaCoCo XML', jacoco, 'jacoco', { covered: 2, total: 3 }, { covered: 1, total: 2 }],
    [
      'JaCoCo XML with nested groups (an aggregate of an aggregate)',
      `<report name="all"><group name="services"><group name="billing"><package name="com/b"><sourcefile name="B.java"><line nr="1" mi="3" ci="0" mb="0" cb="0"/><line nr="2" mi="3" ci="0" mb="0" cb="0"/></sourcefile></package></group></group><group name="app"><package name="com/a"><sourcefile name="A.java"><line nr="1" mi="0" ci="2" mb="0" cb="0"/></sourcefile></package></group></report>`,
      'jacoco',
      { covered: 1, total: 3 },
      { covered: 0, total: 0 }
    ],
    ['Clover XML (jest)', clover, 'clover', { covered: 2, total: 3 }, { covered: 1, total: 2 }],
    [
      'Cobertura (coverage.py --cov-branch)',
      cobertura,
      'cobertura',
      { covered: 2, total: 3 },
      { covered: 1, total: 2 }
    ],
    [
      'Cobertura counts only',
      '<?xml version="1.0" ?>\n<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">\n<coverage lines-valid="40" lines-covered="30" line-rate="0.75"><packages/></coverage>',
      'cobertura',
      { covered: 30, total: 40 },
      { covered: 0, total: 0 }
    ],
    // go tool cover counts statements; a block listed twice (-coverpkg) counts once, covered.
    [
      'Go coverprofile',
      goProfile,
      'go-coverprofile',
      { covered: 1, total: 3 },
      { covered: 0, total: 0 }
    ],
    [
      'Istanbul json-summary',
      '{"total":{"lines":{"total":8,"covered":6,"skipped":0,"pct":75},"branches":{"total":4,"covered":1}}}',
      'istanbul-json-summary',
      { covered: 6, total: 8 },
      { covered: 1, total: 4 }
    ],
    [
      'lcov with LF/LH only',
      'SF:x.c\nLF:10\nLH:7\nend_of_record\n',
      'lcov',
      { covered: 7, total: 10 },
      { covered: 0, total: 0 }
    ]
  ])('reads %s', (_name, text, format, lines, branches) => {
    const report = parseCoverage(text, 'cov', '/w')
    expect(report).toMatchObject({ format, lines, branches })
  })

  it.each([
    ['an empty file', '', /is empty/],
    ['JSON of another shape', '{"coverage": 80}', /not an Istanbul json-summary/],
    ['broken JSON', '{"total": ', /not valid JSON/],
    ['XML without counts', '<coverage line-rate="0.8"/>', /not Cobertura, Clover or JaCoCo/],
    ['XML of another kind', '<testsuites/>', /not Cobertura, Clover or JaCoCo/],
    [
      'JaCoCo without a source file',
      '<report name="x"/>',
      /jacoco coverage report cov covers no source file/
    ],
    ['lcov without a record end', 'SF:a.js\nDA:1,1\n', /no lcov record/],
    ['a Go profile without blocks', 'mode: count\n', /has no block/],
    ['anything else', 'coverage: 80%', /unknown format/]
  ])('rejects %s', (_name, text, message) => {
    expect(() => parseCoverage(text, 'cov')).toThrow(message)
  })
})

describe('mergeCoverage: by file and line, never added up', () => {
  const half = (lines: number[], hit: number[]) =>
    `SF:/w/src/a.js\n${lines.map((l) => `DA:${l},${hit.includes(l) ? 1 : 0}`).join('\n')}\nend_of_record\n`
  const merge = (...texts: string[]) =>
    mergeCoverage(texts.map((t, i) => parseCoverage(t, `r${i}`, '/w')))

  it.each([
    [
      'two halves of one file (unit + integration runs) give 100%',
      [half([1, 2, 3, 4], [1, 2]), half([1, 2, 3, 4], [3, 4])],
      { covered: 4, total: 4 }
    ],
    [
      'the same report twice counts once',
      [half([1, 2], [1]), half([1, 2], [1])],
      { covered: 1, total: 2 }
    ],
    [
      'a file repeated in one lcov (SF twice) counts once',
      [half([1, 2], [1]) + half([1, 2], [2])],
      { covered: 2, total: 2 }
    ],
    [
      'absolute and relative paths of one file meet',
      [half([1, 2], [1]), 'SF:src/a.js\nDA:1,0\nDA:2,1\nend_of_record\n'],
      { covered: 2, total: 2 }
    ],
    [
      'different files add up',
      [half([1, 2], [1]), 'SF:src/b.js\nDA:1,0\nend_of_record\n'],
      { covered: 1, total: 3 }
    ]
  ])('%s', (_name, texts, lines) => {
    expect(merge(...texts).lines).toEqual(lines)
  })

  it('a small fully covered report does not average with a large uncovered one', () => {
    const small = 'SF:a.js\nDA:1,1\nend_of_record\n'
    const large = `SF:b.js\n${Array.from({ length: 99 }, (_, i) => `DA:${i + 1},0`).join('\n')}\nend_of_record\n`
    expect(percent(merge(small, large).lines)).toBe(1)
    expect(percent({ covered: 0, total: 0 })).toBeUndefined()
  })

  it('branches merge by line and index too', () => {
    const a = 'SF:a.js\nDA:1,1\nBRDA:1,0,0,1\nBRDA:1,0,1,0\nend_of_record\n'
    const b = 'SF:a.js\nDA:1,1\nBRDA:1,0,0,0\nBRDA:1,0,1,2\nend_of_record\n'
    expect(merge(a, b).branches).toEqual({ covered: 2, total: 2 })
  })
})

// jest (lcov and Cobertura) and coverage.py write paths relative to where they ran: a monorepo
// whose packages each run their tests names `src/index.ts` twice, for two different files.
describe('mergeCoverage: one relative path in two packages is two files', () => {
  const root = mkdtempSync(join(tmpdir(), 'cov-monorepo-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  for (const pkg of ['a', 'b']) {
    mkdirSync(join(root, 'packages', pkg, 'src'), { recursive: true })
    mkdirSync(join(root, 'packages', pkg, 'coverage'), { recursive: true })
    writeFileSync(join(root, 'packages', pkg, 'src', 'index.ts'), 'export {}\n')
  }
  mkdirSync(join(root, 'coverage', 'unit'), { recursive: true })
  mkdirSync(join(root, 'src'))
  writeFileSync(join(root, 'src', 'app.ts'), 'export {}\n')
  const lcovOf = (hits: number) => `SF:src/index.ts\nDA:1,${hits}\nDA:2,${hits}\nend_of_record\n`
  const coberturaOf = (pkg: string, hits: number) =>
    `<?xml version="1.0" ?><coverage lines-valid="2" lines-covered="${2 * hits}"><sources><source>${join(root, 'packages', pkg)}</source></sources><packages><package name="src"><classes><class name="index.ts" filename="src/index.ts"><lines><line number="1" hits="${hits}"/><line number="2" hits="${hits}"/></lines></class></classes></package></packages></coverage>`
  const read = (pkg: string, name: string, text: string) =>
    parseCoverage(text, join(root, 'packages', pkg, 'coverage', name), root)

  it('lcov: resolved from the package the report sits in', () => {
    const a = read('a', 'lcov.info', lcovOf(1))
    const b = read('b', 'lcov.info', lcovOf(0))
    expect([...a.files.keys(), ...b.files.keys()]).toEqual([
      'packages/a/src/index.ts',
      'packages/b/src/index.ts'
    ])
    expect(mergeCoverage([a, b]).lines).toEqual({ covered: 2, total: 4 })
  })

  it('Cobertura: resolved against its <source>, even where the file is not on disk', () => {
    const a = read('a', 'cobertura-coverage.xml', coberturaOf('a', 1))
    const b = read('b', 'cobertura-coverage.xml', coberturaOf('b', 0))
    expect(mergeCoverage([a, b]).lines).toEqual({ covered: 2, total: 4 })
    const elsewhere = parseCoverage(
      coberturaOf('a', 1).replace(join(root, 'packages', 'a'), '/ci/checkout'),
      join(root, 'cov.xml'),
      root
    )
    expect([...elsewhere.files.keys()]).toEqual(['/ci/checkout/src/index.ts'])
  })

  it('reports of one project in several directories still merge', () => {
    const unit = parseCoverage(
      'SF:src/app.ts\nDA:1,1\nDA:2,0\nend_of_record\n',
      join(root, 'coverage', 'unit', 'lcov.info'),
      root
    )
    const e2e = parseCoverage(
      `SF:${join(root, 'src', 'app.ts')}\nDA:1,0\nDA:2,1\nend_of_record\n`,
      join(root, 'coverage', 'e2e.info'),
      root
    )
    expect([...unit.files.keys()]).toEqual(['src/app.ts'])
    expect(mergeCoverage([unit, e2e]).lines).toEqual({ covered: 2, total: 2 })
  })
})

describe('judgeBuild: branch coverage threshold', () => {
  const limits = { maxFailures: 0, maxDurationMs: 1000, minBranchCoverage: 80 }
  it.each([
    [90, true, '90.00% of branches'],
    [50, false, '50.00% of branches'],
    [undefined, false, 'no branch counted in the coverage reports (was branch coverage on?)']
  ])('%s%% of branches: pass %s', (branchPercent, passed, measured) => {
    const check = judgeBuild({ runs: [], branchPercent }, limits).find(
      (c) => c.name === 'min-branch-coverage'
    )
    expect(check).toMatchObject({ passed, measured, condition: '≥ 80%' })
  })
})
