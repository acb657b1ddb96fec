/**
 * Contract test: the bundled canary-promote, router kubernetes, moving the weights of
 * examples/kubernetes/httproute.yaml on the fake API server, with the SLO queries answered by a
 * real Prometheus (constant PromQL). The same steps run on a real kind cluster in
 * .github/workflows/e2e-kind.yml; this proves the bundle, inputs and API calls fit.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { startPrometheus, type PrometheusInstance } from '../../lab/services/prometheus.js'
import { startFakeKubeApi, writeKubeconfig, type FakeKubeApi, type Obj } from '../fakes/kube-api.js'

const EXAMPLES = new URL('../../examples/kubernetes/', import.meta.url)
const objects = (file: string): Obj[] =>
  parseAllDocuments(readFileSync(new URL(file, EXAMPLES), 'utf8')).map((d) => d.toJS() as Obj)

describe('canary-promote bundle on a Gateway API HTTPRoute (fake API server)', () => {
  const lab = Lab.create()
  let api: FakeKubeApi
  let kubeconfig: string
  let prometheus: PrometheusInstance
  const weights = (): number[] =>
    api.get('HTTPRoute', 'shop').spec.rules[0].backendRefs.map((b: { weight: number }) => b.weight)

  beforeAll(async () => {
    api = await startFakeKubeApi({ rolloutDelayMs: 50 })
    kubeconfig = writeKubeconfig(api.url, api.token)
    prometheus = await startPrometheus(lab, { targets: [] })
  })
  afterAll(async () => {
    await api.close()
    await lab.stop()
  })
  beforeEach(() => {
    api.objects.clear()
    for (const file of ['bluegreen.yaml', 'httproute.yaml']) {
      for (const obj of objects(file)) if (obj.kind !== 'Gateway') api.put(obj)
    }
  })

  const inputs = (errors: string): Record<string, string> => ({
    router: 'kubernetes',
    kubeconfig,
    app: 'shop',
    httproute: 'shop',
    'prometheus-url': prometheus.url,
    steps: '10,50,100',
    'step-duration': '1s',
    'analysis-interval': '1s',
    'min-requests': '1',
    'compare-with-stable': 'false',
    'request-count-query': 'vector(100)',
    'error-rate-query': `vector(${errors})`,
    'latency-query': 'vector(0.05)',
    // constant counts for the router's weights: the statistics are tested elsewhere
    'error-judgement': 'point'
  })

  it('promotes through 10 -> 50 -> 100 on the backendRef weights, then abort restores blue', async () => {
    const seen: number[][] = []
    const r = await runAction('canary-promote', inputs('0'), {
      onStart: (child) => child.stdout?.on('data', () => seen.push(weights()))
    })
    expect(r.annotations.filter((a) => a.level === 'error')).toEqual([])
    expect(r.exitCode).toBe(0)
    expect(r.outputs).toMatchObject({
      result: 'promoted',
      'final-weight': '100',
      'canary-slot': 'green'
    })
    expect(weights()).toEqual([0, 100])
    expect(seen).toContainEqual([90, 10])
    expect(seen).toContainEqual([50, 50])
    expect(api.get('HTTPRoute', 'shop').metadata.annotations['ops-actions.io/previous-slot']).toBe(
      'blue'
    )

    const abort = await runAction('canary-promote', {
      router: 'kubernetes',
      kubeconfig,
      app: 'shop',
      httproute: 'shop',
      mode: 'abort'
    })
    expect(abort.exitCode).toBe(0)
    expect(weights()).toEqual([100, 0])
  })

  it('aborts at the first step when the error rate breaches, leaving the canary at weight 0', async () => {
    const r = await runAction('canary-promote', inputs('5'))
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({
      result: 'aborted',
      'final-weight': '0',
      'failed-check': 'error rate'
    })
    expect(weights()).toEqual([100, 0])
    const decisions = JSON.parse(r.outputs.decisions) as { weight: number }[]
    expect(decisions.map((d) => d.weight)).toEqual([10])
  })
})
