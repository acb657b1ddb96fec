import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { repoRoot } from '../../lab/action-yml.js'
import { enginePath } from '../../lab/engines.js'
import { judgeBuild } from '../../src/build-gate/gate.js'
import { countTests, parseJUnit } from '../../src/build-gate/junit.js'
import { runStreaming, type CommandRun } from '../../src/build-gate/run-commands.js'
import { newScan, scanLine } from '../../src/build-gate/unreported.js'

describe('scanLine: failures runners print but leave out of their reports', () => {
  it.each([
    [
      ['FAIL src/broken.test.ts', '  ● Test suite failed to run'],
      ['jest: test suite failed to run: src/broken.test.ts']
    ],
    [
      ['\x1b[1m\x1b[31m  ● \x1b[22m\x1b[1mTest suite failed to run\x1b[39m'],
      ['jest: test suite failed to run']
    ],
    [['FAIL src/a.test.ts', '  ● adds › one', 'PASS src/b.test.ts'], []],
    [
      ['_____________ ERROR collecting tests/test_b.py ______________'],
      ['pytest: collection error in tests/test_b.py']
    ],
    [
      ['!!!!!!!!!!!!!!!!!!!! Interrupted: 2 errors during collection !!!!!!!!!!!!!!!!!!!'],
      ['pytest: interrupted, 2 error(s) during collection']
    ],
    [['FAIL\texample.com/m/b [build failed]'], ['go test: example.com/m/b build failed']],
    [['FAIL\texample.com/m/c [setup failed]'], ['go test: example.com/m/c setup failed']],
    [['--- FAIL: TestAdd (0.00s)', 'FAIL\texample.com/m/a\t0.002s'], []],
    // Gradle and Surefire exit 1 when the test JVM dies (OOM killer, System.exit): the per-class
    // reports of the classes run so far hold only their failures.
    [
      [
        "> Process 'Gradle Test Executor 1' finished with non-zero exit value 137",
        '  This problem might be caused by incorrect test process configuration.'
      ],
      ['gradle: test JVM Gradle Test Executor 1 exited 137']
    ],
    [
      ['> Could not complete execution for Gradle Test Executor 3.'],
      ['gradle: could not complete execution for Gradle Test Executor 3']
    ],
    [
      [
        '[ERROR] ExecutionException The forked VM terminated without properly saying goodbye. VM crash or System.exit called?'
      ],
      ['surefire: the forked test JVM terminated (crash or System.exit)']
    ],
    [
      ['panic: runtime error: index out of range [3] with length 1'],
      ['go test: panic: runtime error: index out of range [3] with length 1']
    ]
  ])('%j', (lines, expected) => {
    const scan = newScan()
    for (const l of lines) scanLine(scan, l)
    expect(scan.found).toEqual(expected)
  })
})

function write(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
}

async function run(argv: string[], cwd: string): Promise<CommandRun> {
  return { argv, phase: 'test', ...(await runStreaming(argv, { cwd, timeoutMs: 120_000 })) }
}

const limits = { maxFailures: 1, maxDurationMs: 60_000 }

describe('a non-zero exit is explained only when the report accounts for it (real runners)', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'unreported-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('jest: a suite that fails to import is not in junit.xml, and fails the gate even with max-failures 1', async () => {
    const project = join(dir, 'jest')
    write(project, {
      'math.test.js': "test('adds', () => { expect(1 + 1).toBe(3) })\n",
      'broken.test.js': "const lib = require('./does-not-exist')\ntest('never runs', () => {})\n"
    })
    const result = await run(
      [
        process.execPath,
        join(repoRoot, 'node_modules', 'jest', 'bin', 'jest.js'),
        '--ci',
        '--rootDir',
        project,
        '--config',
        '{}',
        '--reporters=default',
        `--reporters=${join(repoRoot, 'node_modules', 'jest-junit')}`
      ],
      project
    )
    expect(result.code).toBe(1)
    const cases = parseJUnit(readFileSync(join(project, 'junit.xml'), 'utf8'), 'junit.xml')
    // The report shows one failed test and says nothing of broken.test.js.
    expect(countTests(cases)).toMatchObject({ tests: 1, failed: 1 })
    const checks = judgeBuild({ runs: [result], totals: countTests(cases) }, limits)
    const command = checks.find((c) => c.name === 'test command')!
    expect(command.passed).toBe(false)
    expect(command.measured).toMatch(/jest: test suite failed to run: broken\.test\.js/)
    // The same run without the broken file is explained by its one allowed failure.
    rmSync(join(project, 'broken.test.js'))
    const clean = await run(result.argv, project)
    const again = parseJUnit(readFileSync(join(project, 'junit.xml'), 'utf8'), 'junit.xml')
    expect(
      judgeBuild({ runs: [clean], totals: countTests(again) }, limits).every((c) => c.passed)
    ).toBe(true)
  })

  it('pytest: a collection error stops the run; the one error in the report does not explain it', async () => {
    const project = join(dir, 'pytest')
    write(project, {
      'test_ok.py': 'def test_ok():\n    assert True\n',
      'test_broken.py': 'import module_that_is_not_there\n\ndef test_x():\n    pass\n'
    })
    const result = await run(
      ['/usr/bin/python3', '-m', 'pytest', '-p', 'no:cacheprovider', '--junitxml=report.xml'],
      project
    )
    expect(result.code).not.toBe(0)
    const totals = countTests(
      parseJUnit(readFileSync(join(project, 'report.xml'), 'utf8'), 'report.xml')
    )
    expect(totals.errors).toBe(1)
    const command = judgeBuild({ runs: [result], totals }, limits).find(
      (c) => c.name === 'test command'
    )!
    expect(command.passed).toBe(false)
    expect(command.measured).toMatch(/pytest: collection error in test_broken\.py/)
  })

  it('go test: a package that does not build is not a failed test', async () => {
    const project = join(dir, 'go')
    write(project, {
      'go.mod': 'module example.com/m\n\ngo 1.21\n',
      'a/a.go': 'package a\n\nfunc Add(x, y int) int { return x - y }\n',
      'a/a_test.go':
        'package a\n\nimport "testing"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal("wrong")\n\t}\n}\n',
      'b/b.go': 'package b\n\nfunc Broken() int { return "not an int" }\n',
      'b/b_test.go': 'package b\n\nimport "testing"\n\nfunc TestB(t *testing.T) { Broken() }\n'
    })
    const argv = ['go', 'test', '-v', './...']
    const result = await run(argv, project)
    expect(result.code).toBe(1)
    // The report, as go-junit-report (a real build) writes it from the same output.
    let output = ''
    try {
      execFileSync('go', ['test', '-v', './...'], { cwd: project, encoding: 'utf8', stdio: 'pipe' })
    } catch (e) {
      output = `${(e as { stdout: string }).stdout}${(e as { stderr: string }).stderr}`
    }
    const xml = execFileSync(enginePath('go-junit-report'), [], { input: output, encoding: 'utf8' })
    const totals = countTests(parseJUnit(xml, 'go-junit-report.xml'))
    expect(totals.failed).toBeGreaterThanOrEqual(1)
    const command = judgeBuild({ runs: [result], totals }, { ...limits, maxFailures: 5 }).find(
      (c) => c.name === 'test command'
    )!
    expect(command.passed).toBe(false)
    expect(command.measured).toMatch(/go test: example\.com\/m\/b build failed/)
  })

  // Gradle writes one report per test class as it goes: a runner killed half-way (the OOM killer,
  // a runner's own time limit) leaves the reports of the classes done so far, one failure among
  // them. That failure does not explain the kill; the classes never run are in no report.
  it.each([
    ['killed by a signal', "process.kill(process.pid, 'SIGKILL')", /exited on a signal/],
    ['reported killed by a wrapper (exit 137)', 'process.exit(137)', /exited 137/]
  ])('a runner %s after writing one failure is not explained by it', async (_name, end, why) => {
    const project = join(dir, `killed-${end.length}`)
    const report =
      '<testsuite name="com.example.ATest" tests="2" failures="1"><testcase name="a" classname="com.example.ATest"><failure message="boom"/></testcase><testcase name="b" classname="com.example.ATest"/></testsuite>'
    write(project, {
      'runner.js': `require('fs').writeFileSync('TEST-com.example.ATest.xml', ${JSON.stringify(report)})\n${end}\n`
    })
    const result = await run([process.execPath, 'runner.js'], project)
    const totals = countTests(
      parseJUnit(readFileSync(join(project, 'TEST-com.example.ATest.xml'), 'utf8'), 'r.xml')
    )
    expect(totals).toMatchObject({ tests: 2, failed: 1 })
    const command = judgeBuild({ runs: [result], totals }, limits).find(
      (c) => c.name === 'test command'
    )!
    expect(command.passed).toBe(false)
    expect(command.measured).toMatch(why)
    expect(command.measured).toMatch(/not how a runner reports failed tests/)
  })
})
