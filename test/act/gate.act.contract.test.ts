/**
 * Scenario 1, first half: the staging template's gate job under act runs the sample service's
 * pytest through build-gate (checkout stand-in, working-directory) with no write scope; the build
 * job after it (image-push `mode: build`) cannot run here (no Docker), so the run stops there
 * and nothing is released. A failing test stops the run at the gate.
 * Stand-ins: checkout.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { jobResult, REPO_ROOT, runAct, stepOutput } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { startApp } from '../../lab/services/app.js'
import { startHaproxy, type HaproxyInstance } from '../../lab/services/haproxy.js'
import { slotCounts } from '../deploy-bluegreen/helpers.js'
import { startFakeGitHubApi, type FakeGitHubApi } from '../fakes/github-api.js'
import { explain, haproxyWith, templateCaller } from './helpers.js'

// Each act run has its own limit (runAct's default, 240 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(300_000)

const SERVICE = join(REPO_ROOT, 'lab', 'demo-data', 'service')
const service = (): Record<string, string> =>
  Object.fromEntries(
    readdirSync(SERVICE).map((f) => [`service/${f}`, readFileSync(join(SERVICE, f), 'utf8')])
  )

describe('staging template gate under act: pytest on the sample service', () => {
  const lab = Lab.create()
  let lb: HaproxyInstance
  let api: FakeGitHubApi
  let app: Awaited<ReturnType<typeof startApp>>

  beforeAll(async () => {
    app = await startApp(lab)
    lb = await startHaproxy(lab, {
      servers: [
        { name: 'blue', address: `127.0.0.1:${app.blue.port}`, weight: 100 },
        { name: 'green', address: `127.0.0.1:${app.green.port}`, weight: 0 }
      ]
    })
    api = await startFakeGitHubApi()
  })
  afterAll(async () => {
    await api.close()
    await lab.stop()
  })

  const run = (files: Record<string, string>) =>
    runAct({
      callerFiles: {
        '.github/workflows/deploy-staging.yml': templateCaller('deploy-staging', {
          ...haproxyWith(lb.socket, app),
          // Required off kubernetes (check-inputs); never reached: the Docker build stops first.
          'deploy-command': '/bin/true',
          build: undefined,
          test: JSON.stringify([
            '/usr/bin/python3',
            '-m',
            'pytest',
            '-q',
            '-p',
            'no:cacheprovider',
            '--junitxml=reports/junit.xml'
          ]),
          'working-directory': 'service',
          // build-gate reads report globs inside working-directory.
          'test-reports': 'reports/*.xml',
          'coverage-reports': undefined,
          'min-coverage': undefined,
          namespace: undefined,
          service: undefined,
          app: undefined
        }),
        ...files
      },
      branch: 'develop',
      workflow: '.github/workflows/deploy-staging.yml',
      event: 'push',
      vars: { IMAGE: '127.0.0.1:5000/shop' },
      apiUrl: api.url,
      token: api.token
    })

  it('passes the gate on the real tests; the Docker build is not reached, nothing released', async () => {
    const result = await run(service())
    if (jobResult(result, 'gate') !== 'success') throw new Error(explain(result))
    expect(Number(stepOutput(result, 'gate', 'tests'))).toBeGreaterThan(0)
    expect(stepOutput(result, 'gate', 'failures')).toBe('0')
    expect(jobResult(result, 'build')).toBe('failure')
    expect(jobResult(result, 'release')).toBeUndefined()
    expect(await slotCounts(lb.url, 10)).toEqual({ blue: 10 })
    expect(api.deployments).toEqual([])
  })

  it('stops at the gate on a failing test', async () => {
    const files = service()
    files['service/test_broken.py'] = 'def test_broken():\n    assert 1 == 2\n'
    const result = await run(files)
    expect(result.exitCode).not.toBe(0)
    expect(jobResult(result, 'gate')).toBe('failure')
    expect(jobResult(result, 'build')).toBeUndefined()
    expect(stepOutput(result, 'gate', 'failures')).toBe('1')
    expect(api.deployments).toEqual([])
  })
})
