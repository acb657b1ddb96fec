import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCommand } from '../../src/core/exec.js'
import { mergeCoverage, parseCoverage } from '../../src/build-gate/coverage.js'
import { countTests, parseJUnit } from '../../src/build-gate/junit.js'
import { locateFailure } from '../../src/build-gate/locate.js'
import { copyProject, jestCommand, pytestCommand } from './projects.js'

// Reports written here by the real runners, not hand-written XML.
describe('reports written by real test runners', () => {
  const pytest = copyProject('pytest-project')
  const jest = copyProject('jest-project')

  beforeAll(async () => {
    const py = await runCommand(pytestCommand, { cwd: pytest.project, echo: false })
    expect(py.code).toBe(1) // one test fails on purpose
    const js = await runCommand(jestCommand, { cwd: jest.project, echo: false })
    expect(js.code).toBe(1)
  })
  afterAll(() => {
    pytest.remove()
    jest.remove()
  })

  it('pytest --junitxml: counts, message and the failing line', () => {
    const file = join(pytest.project, 'reports', 'pytest.xml')
    const cases = parseJUnit(readFileSync(file, 'utf8'), file)
    expect(countTests(cases)).toEqual({
      tests: 4,
      passed: 2,
      failed: 1,
      errors: 0,
      skipped: 1,
      flaky: 0
    })
    const failed = cases.find((c) => c.status === 'failed')!
    expect(failed).toMatchObject({ classname: 'test_calc', name: 'test_add_is_wrong_on_purpose' })
    expect(failed.message).toMatch(/^assert 2 == 3/)
    expect(locateFailure(failed, pytest.project, pytest.workspace)).toEqual({
      file: 'pytest-project/test_calc.py',
      line: 11
    })
  })

  it('jest-junit: counts and the failing line in the test file, not in jest itself', () => {
    const file = join(jest.project, 'reports', 'junit.xml')
    const cases = parseJUnit(readFileSync(file, 'utf8'), file)
    expect(countTests(cases)).toEqual({
      tests: 3,
      passed: 1,
      failed: 1,
      errors: 0,
      skipped: 1,
      flaky: 0
    })
    const failed = cases.find((c) => c.status === 'failed')!
    expect(failed.name).toBe('is wrong on purpose')
    expect(locateFailure(failed, jest.project, jest.workspace)).toEqual({
      file: 'jest-project/src/sum.test.js',
      line: 8
    })
  })

  it.each([['lcov.info'], ['cobertura-coverage.xml'], ['coverage-summary.json'], ['clover.xml']])(
    'jest coverage as %s: 2 of 5 lines, and the same branches in every format',
    (name) => {
      const file = join(jest.project, 'coverage', name)
      const report = parseCoverage(readFileSync(file, 'utf8'), file, jest.project)
      expect(report.lines).toEqual({ covered: 2, total: 5 })
      const lcov = parseCoverage(
        readFileSync(join(jest.project, 'coverage', 'lcov.info'), 'utf8'),
        'lcov.info',
        jest.project
      )
      expect(report.branches).toEqual(lcov.branches)
    }
  )

  it('the same jest run in four formats merges to the same counts, not four times them', () => {
    const reports = ['lcov.info', 'cobertura-coverage.xml', 'clover.xml'].map((name) => {
      const file = join(jest.project, 'coverage', name)
      return parseCoverage(readFileSync(file, 'utf8'), file, jest.project)
    })
    expect(mergeCoverage(reports).lines).toEqual({ covered: 2, total: 5 })
  })

  it('a real report cut short is an error, not an empty result', () => {
    const file = join(pytest.project, 'reports', 'pytest.xml')
    const text = readFileSync(file, 'utf8')
    expect(() => parseJUnit(text.slice(0, Math.floor(text.length / 2)), file)).toThrow(
      /not well-formed XML/
    )
  })
})
