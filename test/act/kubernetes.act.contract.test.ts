/**
 * Scenario 7 (Kubernetes): the rollback template, unchanged but for passing the KUBECONFIG
 * secret (act has no environment secrets), under act against the fake Kubernetes API
 * (test/fakes/kube-api.ts: a contract fake; the kind workflow runs a real cluster). It proves the
 * inputs flow (namespace from the environment, service and app from the variables) and that the
 * kubeconfig secret's CONTENTS reach the action as a file in $RUNNER_TEMP: the Service selector
 * goes back to the previous slot, and the environment tag is read back from the router (the
 * Service, or production's HTTPRoute) and moved to that slot's recorded image (lab registry).
 * Stand-ins: none reached (no AWS role given).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { jobResult, REPO_ROOT, runAct } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { runAction } from '../../lab/runner.js'
import {
  deployment,
  httpRoute,
  service,
  startFakeKubeApi,
  writeKubeconfig,
  type FakeKubeApi
} from '../fakes/kube-api.js'
import { pushImage } from '../image-push/upload.js'
import { explain, templateCaller, tagDigest as registryTagDigest } from './helpers.js'

// Each act run has its own limit (runAct's default, 240 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(300_000)

function tagDigest(registry: Registry, tag: string): Promise<string | null> {
  return registryTagDigest(registry.url, 'shop', tag)
}

/** Each slot's record, as releases into them wrote it; the digests by slot. */
async function records(registry: Registry, env: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const slot of ['blue', 'green']) {
    const p = await pushImage({ url: registry.url }, 'shop', `${env}-${slot}`, {
      layers: 1,
      layerBytes: 512
    })
    out[slot] = p.digest
  }
  return out
}

describe('rollback template under act on the Kubernetes router (fake API)', () => {
  const lab = Lab.create()
  let kube: FakeKubeApi
  let registry: Registry
  beforeAll(async () => {
    kube = await startFakeKubeApi({ rolloutDelayMs: 50 })
    registry = await startRegistry(lab)
    const ns = (o: Record<string, unknown>) => ({
      ...o,
      metadata: { ...(o.metadata as object), namespace: 'staging' }
    })
    const live = service('shop', { app: 'shop', slot: 'green' })
    live.metadata.annotations = { 'ops-actions/previous-slot': 'blue' }
    for (const o of [live, deployment('blue'), deployment('green')]) kube.put(ns(o))
  })
  afterAll(async () => {
    await kube.close()
    await lab.stop()
  })

  it('switches the Service back to the previous slot with the kubeconfig from the secret', async () => {
    const digests = await records(registry, 'staging')
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
      vars: { IMAGE: `${registry.host}/shop`, APP_NAME: 'shop' },
      secrets: { KUBECONFIG: kubeconfig }
    })
    if (jobResult(run, 'rollback') !== 'success') throw new Error(explain(run))
    expect(kube.get('Service', 'shop', 'staging').spec.selector).toEqual({
      app: 'shop',
      slot: 'blue'
    })
    expect(await tagDigest(registry, 'staging')).toBe(digests.blue)
    // The token appears in the log only where the action asks the runner to mask it.
    const withToken = run.log.split('\n').filter((l) => l.includes(kube.token))
    expect(withToken.length).toBeGreaterThan(0)
    for (const line of withToken) expect(JSON.parse(line)).toMatchObject({ command: 'add-mask' })
  })

  // Production after a promoted canary (deploy-production splits traffic on the HTTPRoute):
  // the route sends everything to green, blue is the previous slot. A rollback that flips only
  // the Service selector reports success and moves no traffic.
  it('on production, rolls back the HTTPRoute the production canary moved', async () => {
    const route = httpRoute(0, 100)
    route.metadata.annotations = { 'ops-actions/previous-slot': 'blue' }
    const live = service('shop', { app: 'shop', slot: 'green' })
    live.metadata.annotations = { 'ops-actions/previous-slot': 'blue' }
    for (const o of [route, live, deployment('blue'), deployment('green')])
      kube.put({ ...o, metadata: { ...o.metadata, namespace: 'production' } })
    const digests = await records(registry, 'production')
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
      payload: { inputs: { environment: 'production', target: '', 'dry-run': 'false' } },
      vars: { IMAGE: `${registry.host}/shop`, APP_NAME: 'shop' },
      secrets: { KUBECONFIG: kubeconfig }
    })
    if (jobResult(run, 'rollback') !== 'success') throw new Error(explain(run))
    const weights = kube
      .get('HTTPRoute', 'shop', 'production')
      .spec.rules[0].backendRefs.map((b: { weight?: number }) => b.weight)
    expect(weights).toEqual([100, 0])
    // read back from the HTTPRoute (blue at 100), not from the Service
    expect(await tagDigest(registry, 'production')).toBe(digests.blue)
  })
})

describe('deploy-production template: its Kubernetes inputs as deploy.yml hands them on', () => {
  // deploy.yml passes service, app, namespace and httproute to canary-promote unchanged; the
  // router refuses `service` together with `httproute`, which failed the first production canary.
  it('are a canary-promote configuration the router accepts (dry run)', async () => {
    const kube = await startFakeKubeApi()
    for (const o of [httpRoute(100, 0), deployment('blue'), deployment('green')])
      kube.put({ ...o, metadata: { ...o.metadata, namespace: 'production' } })
    try {
      const template = parse(
        readFileSync(join(REPO_ROOT, 'workflow-templates', 'deploy-production.yml'), 'utf8')
      ) as { jobs: Record<string, { with: Record<string, string> }> }
      const given = Object.values(template.jobs)[0].with
      const value = (k: string) =>
        given[k] === undefined ? '' : String(given[k]).replace('${{ vars.APP_NAME }}', 'shop')
      expect(given.router).toBe('kubernetes')
      const result = await runAction('canary-promote', {
        mode: 'run',
        router: 'kubernetes',
        namespace: value('namespace'),
        service: value('service'),
        app: value('app'),
        httproute: value('httproute'),
        'canary-ingress': value('canary-ingress'),
        kubeconfig: writeKubeconfig(kube.url, kube.token),
        'prometheus-url': 'http://127.0.0.1:9',
        'dry-run': 'true'
      })
      expect({ exit: result.exitCode, errors: result.stdout.match(/::error::.*/g) ?? [] }).toEqual({
        exit: 0,
        errors: []
      })
    } finally {
      await kube.close()
    }
  })
})
