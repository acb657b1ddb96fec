/** The pure parts of lab/act.ts: the command line, the log reader, the schema workaround. */
import { describe, expect, it } from '@jest/globals'
import { actArgs, parseActLog, STANDINS, withoutDeploymentKey } from '../../lab/act.js'

describe('actArgs', () => {
  const args = actArgs({
    event: 'push',
    workflow: '.github/workflows/x.yml',
    eventFile: '/tmp/e.json',
    org: 'example-org',
    ref: 'v1',
    opsCheckout: '/tmp/ops',
    env: { GITHUB_API_URL: 'http://127.0.0.1:1' },
    secrets: { GITHUB_TOKEN: 't' },
    vars: { IMAGE: 'i' }
  })
  const after = (flag: string) => args.filter((_, i) => args[i - 1] === flag)

  it.each([
    ['-P', ['ubuntu-latest=-self-hosted', 'self-hosted=-self-hosted']],
    ['--cache-server-addr', ['127.0.0.1']],
    ['--artifact-server-addr', ['127.0.0.1']],
    ['--env', ['GITHUB_API_URL=http://127.0.0.1:1']],
    ['-s', ['GITHUB_TOKEN=t']],
    ['--var', ['IMAGE=i']],
    ['-W', ['.github/workflows/x.yml']]
  ])('%s %j', (flag, values) => {
    expect(after(flag)).toEqual(values)
  })

  it('maps ops-actions and every stand-in with --local-repository', () => {
    const mapped = after('--local-repository')
    expect(mapped[0]).toBe('example-org/ops-actions@v1=/tmp/ops')
    expect(mapped).toHaveLength(1 + Object.keys(STANDINS).length)
    for (const uses of Object.keys(STANDINS)) {
      expect(mapped.some((m) => m.startsWith(`${uses}=`))).toBe(true)
      expect(uses).toMatch(/@[0-9a-f]{40}$/)
    }
  })
})

describe('parseActLog', () => {
  it.each([
    [
      'a job result',
      '{"job":"d/x/release ","jobResult":"success"}',
      { jobs: [{ name: 'd/x/release', result: 'success' }] }
    ],
    [
      'a step output',
      '{"job":"r","command":"set-output","name":"live-slot","arg":"green"}',
      { outputs: [{ job: 'r', name: 'live-slot', value: 'green' }] }
    ],
    ['raw output', '{"raw_output":true,"msg":"hello"}', { output: 'hello\n' }],
    [
      'noise',
      'time="x" level=warning msg="no docker"\n{not json',
      { jobs: [], outputs: [], output: '' }
    ]
  ])('%s', (_what, text, expected) => {
    expect(parseActLog(text)).toMatchObject(expected)
  })
})

describe('withoutDeploymentKey', () => {
  it.each([
    [
      'removes it under environment',
      '    environment:\n      name: prod\n      deployment: false\n    steps: []\n',
      '    environment:\n      name: prod\n    steps: []\n'
    ],
    [
      'keeps it anywhere else',
      '    with:\n      deployment: false\n',
      '    with:\n      deployment: false\n'
    ]
  ])('%s', (_what, input, output) => {
    expect(withoutDeploymentKey(input)).toBe(output)
  })
})

describe('runAct', () => {
  it('kills a run that outlives its time limit, with the steps it started', async () => {
    const { runAct } = await import('../../lab/act.js')
    const marker = `ops-act-sleep-${process.pid}`
    const started = Date.now()
    const run = await runAct({
      callerFiles: {
        '.github/workflows/slow.yml': `on: push\njobs:\n  slow:\n    runs-on: ubuntu-latest\n    steps:\n      - run: exec -a ${marker} sleep 60\n`
      },
      workflow: '.github/workflows/slow.yml',
      event: 'push',
      timeoutMs: 3000
    })
    expect(run.timedOut).toBe(true)
    expect(run.exitCode).not.toBe(0)
    expect(Date.now() - started).toBeLessThan(30_000)
    // The step's process went with act (own process group).
    const { execFileSync } = await import('node:child_process')
    // SIGKILLed processes go once scheduled (a loaded machine may take a moment): poll, bounded.
    const left = (): string[] =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.startsWith(marker))
    for (let i = 0; i < 50 && left().length > 0; i++) await new Promise((r) => setTimeout(r, 100))
    expect(left()).toEqual([])
  })
})
