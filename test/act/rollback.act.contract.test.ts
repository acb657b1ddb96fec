/**
 * Scenario 4: the manual rollback template (workflow_dispatch) run by act against a real HAProxy:
 * traffic goes back to the previous slot and the rollback is recorded as a Deployment.
 * Stand-ins: none reached (the rollback job has no third-party step with these inputs).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { jobResult, runAct } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { startApp } from '../../lab/services/app.js'
import { startHaproxy, type HaproxyInstance } from '../../lab/services/haproxy.js'
import { slotCounts } from '../deploy-bluegreen/helpers.js'
import { startFakeGitHubApi, type FakeGitHubApi } from '../fakes/github-api.js'
import { explain, haproxyWith, templateCaller } from './helpers.js'

// Each act run has its own limit (runAct's default, 240 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(300_000)

describe('rollback template under act (host mode) on HAProxy', () => {
  const lab = Lab.create()
  let lb: HaproxyInstance
  let api: FakeGitHubApi
  let app: Awaited<ReturnType<typeof startApp>>

  beforeAll(async () => {
    app = await startApp(lab)
    // After a release to green: green live, blue still running the previous version.
    lb = await startHaproxy(lab, {
      servers: [
        { name: 'blue', address: `127.0.0.1:${app.blue.port}`, weight: 0 },
        { name: 'green', address: `127.0.0.1:${app.green.port}`, weight: 100 }
      ]
    })
    api = await startFakeGitHubApi()
  })
  afterAll(async () => {
    await api.close()
    await lab.stop()
  })

  it('puts traffic back on the previous slot and records the rollback', async () => {
    expect(await slotCounts(lb.url, 10)).toEqual({ green: 10 })
    const run = await runAct({
      callerFiles: {
        '.github/workflows/rollback.yml': templateCaller('rollback', {
          ...haproxyWith(lb.socket, app),
          namespace: undefined,
          service: undefined,
          app: undefined,
          'eks-cluster': undefined
        })
      },
      workflow: '.github/workflows/rollback.yml',
      event: 'workflow_dispatch',
      payload: { inputs: { environment: 'staging', target: '', 'dry-run': 'false' } },
      // No IMAGE: no environment tag to move (rollback-tags.act.contract.test.ts moves it).
      apiUrl: api.url,
      token: api.token
    })
    expect({ exit: run.exitCode, job: jobResult(run, 'rollback') }).toEqual({
      exit: 0,
      job: 'success'
    })
    expect(await slotCounts(lb.url, 20)).toEqual({ blue: 20 })
    const recorded = api.deployments.filter((d) => d.environment === 'staging')
    expect(recorded).toHaveLength(1)
    expect(api.lastState(recorded[0])).toBe('success')
    expect(run.log).toMatch(/the staging image tag was not moved/)
    if (run.exitCode !== 0) throw new Error(explain(run))
  })

  it('dry-run shows the rollback and changes nothing', async () => {
    // as a deploy to green records it (a hand change of weights leaves the record stale)
    await lb.command(
      'experimental-mode on; set var proc.opsactions_previous str(blue); set weight app/blue 0; set weight app/green 100'
    )
    const before = api.deployments.length
    const run = await runAct({
      callerFiles: {
        '.github/workflows/rollback.yml': templateCaller('rollback', {
          ...haproxyWith(lb.socket, app),
          namespace: undefined,
          service: undefined,
          app: undefined
        })
      },
      workflow: '.github/workflows/rollback.yml',
      event: 'workflow_dispatch',
      // As GitHub sends it: workflow_dispatch inputs are strings in the event payload.
      payload: { inputs: { environment: 'production', target: '', 'dry-run': 'true' } },
      apiUrl: api.url,
      token: api.token
    })
    expect(run.exitCode).toBe(0)
    expect(await slotCounts(lb.url, 10)).toEqual({ green: 10 })
    expect(api.deployments.length).toBe(before)
  })
})
