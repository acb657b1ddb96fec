/**
 * Scenario 7 (Kubernetes): the rollback template, unchanged but for passing the KUBECONFIG
 * secret (act has no environment secrets), under act against the fake Kubernetes API
 * (test/fakes/kube-api.ts: a contract fake; the kind workflow runs a real cluster). It proves the
 * inputs flow (namespace from the environment, service and app from the variables) and that the
 * kubeconfig secret's CONTENTS reach the action as a file in $RUNNER_TEMP: the Service selector
 * goes back to the previous slot.
 * Stand-ins: none reached (no AWS role given).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { jobResult, runAct } from '../../lab/act.js'
import {
  deployment,
  service,
  startFakeKubeApi,
  writeKubeconfig,
  type FakeKubeApi
} from '../fakes/kube-api.js'
import { explain, templateCaller } from './helpers.js'

describe('rollback template under act on the Kubernetes router (fake API)', () => {
  let kube: FakeKubeApi
  beforeAll(async () => {
    kube = await startFakeKubeApi({ rolloutDelayMs: 50 })
    const ns = (o: Record<string, unknown>) => ({
      ...o,
      metadata: { ...(o.metadata as object), namespace: 'staging' }
    })
    const live = service('shop', { app: 'shop', slot: 'green' })
    live.metadata.annotations = { 'ops-actions/previous-slot': 'blue' }
    for (const o of [live, deployment('blue'), deployment('green')]) kube.put(ns(o))
  })
  afterAll(() => kube.close())

  it('switches the Service back to the previous slot with the kubeconfig from the secret', async () => {
    const kubeconfig = readFileSync(writeKubeconfig(kube.url, kube.token), 'utf8')
    const run = await runAct({
      callerFiles: {
        '.github/workflows/rollback.yml': templateCaller(
          'rollback',
          {},
          { KUBECONFIG: '${{ secrets.KUBECONFIG }}' }
        )
      },
      workflow: '.github/workflows/rollback.yml',
      event: 'workflow_dispatch',
      payload: { inputs: { environment: 'staging', target: '', 'dry-run': 'false' } },
      vars: { IMAGE: '127.0.0.1:5000/shop', APP_NAME: 'shop' },
      secrets: { KUBECONFIG: kubeconfig }
    })
    if (jobResult(run, 'rollback') !== 'success') throw new Error(explain(run))
    expect(kube.get('Service', 'shop', 'staging').spec.selector).toEqual({
      app: 'shop',
      slot: 'blue'
    })
    // The token appears in the log only where the action asks the runner to mask it.
    const withToken = run.log.split('\n').filter((l) => l.includes(kube.token))
    expect(withToken.length).toBeGreaterThan(0)
    for (const line of withToken) expect(JSON.parse(line)).toMatchObject({ command: 'add-mask' })
  })
})
