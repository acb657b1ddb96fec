import { describe, expect, it } from '@jest/globals'
import { combinedPercent, parseCoverage } from '../../src/build/coverage.js'

const lcov = `TN:
SF:src/a.js
DA:1,1
DA:2,0
LF:2
LH:1
end_of_record
SF:src/b.js
DA:1,3
DA:2,1
DA:3,0
end_of_record
`

describe('parseCoverage', () => {
  it.each([
    ['lcov (LF/LH, else DA lines)', lcov, { format: 'lcov', covered: 3, total: 5 }],
    [
      'Cobertura',
      '<?xml version="1.0" ?>\n<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">\n<coverage lines-valid="40" lines-covered="30" line-rate="0.75"><packages/></coverage>',
      { format: 'cobertura', covered: 30, total: 40 }
    ],
    [
      'Istanbul json-summary',
      '{"total":{"lines":{"total":8,"covered":6,"skipped":0,"pct":75}}}',
      { format: 'istanbul-json-summary', covered: 6, total: 8 }
    ]
  ])('reads %s', (_name, text, expected) => {
    expect(parseCoverage(text, 'cov')).toEqual(expected)
  })

  it.each([
    ['an empty file', '', /is empty/],
    ['JSON of another shape', '{"coverage": 80}', /not an Istanbul json-summary/],
    ['broken JSON', '{"total": ', /not valid JSON/],
    ['XML without counts', '<coverage line-rate="0.8"/>', /no lines-valid\/lines-covered/],
    ['XML of another kind', '<report/>', /not Cobertura/],
    ['lcov without a record end', 'SF:a.js\nDA:1,1\n', /no lcov record/],
    ['anything else', 'coverage: 80%', /unknown format/]
  ])('rejects %s', (_name, text, message) => {
    expect(() => parseCoverage(text, 'cov')).toThrow(message)
  })

  it('combines reports by line counts, not by averaging percentages', () => {
    const small = { covered: 1, total: 1, format: 'lcov' as const }
    const large = { covered: 0, total: 99, format: 'lcov' as const }
    expect(combinedPercent([small, large])).toBe(1)
    expect(combinedPercent([{ covered: 0, total: 0, format: 'lcov' }])).toBeUndefined()
  })
})
