import { afterAll, describe, expect, it } from '@jest/globals'
import { runAction } from '../../lab/runner.js'
import { copyProject, jestCommand, pytestCommand } from './projects.js'

const projects: { remove: () => void }[] = []
function project(name: 'pytest-project' | 'jest-project'): ReturnType<typeof copyProject> {
  const p = copyProject(name)
  projects.push(p)
  return p
}
afterAll(() => projects.forEach((p) => p.remove()))

function gate(p: ReturnType<typeof copyProject>, inputs: Record<string, string>) {
  return runAction(
    'build-gate',
    { 'working-directory': p.project, ...inputs },
    { env: { GITHUB_WORKSPACE: p.workspace } }
  )
}

describe('build-gate bundle', () => {
  it('fails on a failing pytest test, annotating the file and line', async () => {
    const p = project('pytest-project')
    const result = await gate(p, {
      test: JSON.stringify(pytestCommand),
      'test-reports': 'reports/*.xml'
    })
    expect(result.exitCode).toBe(1)
    expect(result.outputs).toMatchObject({
      tests: '4',
      failures: '1',
      skipped: '1',
      coverage: '',
      passed: 'false'
    })
    const errors = result.annotations.filter(
      (a) => a.level === 'error' && a.properties.title?.startsWith('Failed')
    )
    expect(errors).toHaveLength(1)
    expect(errors[0].properties).toMatchObject({
      file: 'pytest-project/test_calc.py',
      line: '11',
      title: 'Failed: test_calc › test_add_is_wrong_on_purpose'
    })
    expect(result.summary).toContain('**4** tests: 2 passed, 1 failed, 0 errors, 1 skipped')
    expect(result.summary).toContain(
      '| max-failures | 1 failed (1 failures, 0 errors) | ≤ 0 | FAIL |'
    )
  })

  it('passes the same run when one failure is allowed', async () => {
    const p = project('pytest-project')
    const result = await gate(p, {
      test: JSON.stringify(pytestCommand),
      'test-reports': 'reports/*.xml',
      'max-failures': '1'
    })
    expect(result.exitCode).toBe(0)
    expect(result.outputs.passed).toBe('true')
  })

  it('reads jest-junit and coverage, and gates on min-coverage', async () => {
    const p = project('jest-project')
    const inputs = {
      test: JSON.stringify(jestCommand),
      'test-reports': 'reports/junit.xml',
      'coverage-reports': 'coverage/lcov.info',
      'max-failures': '1'
    }
    const low = await gate(p, { ...inputs, 'min-coverage': '80%' })
    expect(low.exitCode).toBe(1)
    expect(low.outputs).toMatchObject({
      tests: '3',
      failures: '1',
      coverage: '40.00',
      passed: 'false'
    })
    expect(low.annotations.map((a) => a.message)).toContain(
      'Check failed: min-coverage: 40.00% of lines (needs ≥ 80%)'
    )
    const ok = await gate(p, { ...inputs, 'min-coverage': '40' })
    expect(ok.exitCode).toBe(0)
    expect(
      ok.annotations.find((a) => a.properties.title === 'Failed: is wrong on purpose')?.properties
    ).toMatchObject({
      file: 'jest-project/src/sum.test.js',
      line: '8'
    })
  })

  it('a malformed report is an error (exit 3), never "0 tests passed"', async () => {
    const p = project('pytest-project')
    const truncate = [
      '/usr/bin/python3',
      '-c',
      "open('reports.xml','w').write('<testsuites><testsuite name=\"x\">')"
    ]
    const result = await gate(p, { test: JSON.stringify(truncate), 'test-reports': 'reports.xml' })
    expect(result.exitCode).toBe(3)
    expect(result.stdout).toMatch(/reports\.xml is not well-formed XML/)
    expect(result.outputs.passed).toBeUndefined()
  })

  it('a glob that matches no report is an error', async () => {
    const p = project('pytest-project')
    const result = await gate(p, {
      test: JSON.stringify(pytestCommand),
      'test-reports': 'out/*.xml'
    })
    expect(result.exitCode).toBe(3)
    expect(result.stdout).toContain('input `test-reports`: no file matches `out/*.xml`')
  })

  it('stops a command that outlives max-duration', async () => {
    const p = project('pytest-project')
    const result = await gate(p, { test: 'sleep 60', 'max-duration': '1s' })
    expect(result.exitCode).toBe(1)
    expect(result.outputs.passed).toBe('false')
    expect(result.summary).toContain(
      '| max-duration | `sleep 60` still running when the budget ran out |'
    )
  })

  it('a failing build command stops before the tests, and no shell is involved', async () => {
    const p = project('pytest-project')
    const result = await gate(p, { build: 'false', test: 'touch $HOME/should-not-run' })
    expect(result.exitCode).toBe(1)
    expect(result.summary).toContain('| build command | `false` exited 1 | exit 0 | FAIL |')
    expect(result.summary).not.toContain('should-not-run')
  })

  it('rejects min-coverage without coverage reports before running anything', async () => {
    const p = project('pytest-project')
    const result = await gate(p, { test: 'touch ran', 'min-coverage': '80' })
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toContain('input `min-coverage` needs `coverage-reports`')
  })
})
