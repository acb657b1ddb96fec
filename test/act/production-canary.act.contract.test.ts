/**
 * Scenarios 2 and 3: push to main -> production, the production template under act: this
 * commit's image (sha-<commit>, by digest) promoted, scanned again (fake trivy: no DB offline),
 * then an SLO-gated canary on a real HAProxy judged by a real Prometheus scraping the sample
 * app under real load. A good canary is promoted, its Deployment is success and the previous
 * production deployment is marked inactive; a canary breaching its error-rate SLO is aborted,
 * traffic stays on stable, the run fails and the Deployment is failure.
 * The template's Kubernetes router is swapped for the lab's HAProxy (the inputs named below); its
 * deploy-command only logs the slot and image it is given (the lab's slots already run the app).
 * Stand-ins: none reached on this path.
 */
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  jest
} from '@jest/globals'
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { jobResult, makeCallerRepo, runAct, type ActRun } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { startLoad, type Load } from '../../lab/load.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { startServiceStack, type ServiceStack } from '../../lab/stacks.js'
import { startFakeGitHubApi, type FakeGitHubApi } from '../fakes/github-api.js'
import { pushImage } from '../image-push/upload.js'
import {
  explain,
  fakeTrivyEnv,
  headSha,
  fakeTrivyPath,
  templateCaller,
  removeLater,
  removeTempDirs,
  tagDigest as registryTagDigest
} from './helpers.js'

// Each act run has its own limit (300 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(360_000)

describe('production template under act (host mode): canary on HAProxy with Prometheus', () => {
  const lab = Lab.create()
  let stack: ServiceStack
  let api: FakeGitHubApi
  let registry: Registry
  let load: Load

  const installs = lab.path('installs.log')
  let installScript: string
  beforeAll(async () => {
    installScript = join(lab.mkdir('bin'), 'install-slot')
    writeFileSync(installScript, `#!/bin/sh\necho "$OPS_SLOT $OPS_IMAGE" > "${installs}"\n`)
    chmodSync(installScript, 0o755)
    ;[stack, api, registry] = await Promise.all([
      startServiceStack(lab),
      startFakeGitHubApi(),
      startRegistry(lab)
    ])
  })
  afterAll(async () => {
    await api.close()
    await lab.stop()
    removeTempDirs()
  })
  beforeEach(async () => {
    await stack.lb.command('set weight app/blue 100; set weight app/green 0')
    load = startLoad(stack.lb.url, { ratePerSecond: 150, maxDurationMs: 150_000 })
  })
  afterEach(async () => {
    await load.stop()
  })

  const tagDigest = (tag: string): Promise<string | null> =>
    registryTagDigest(registry.url, 'shop', tag)

  async function release(): Promise<{ run: ActRun; sha: string; digest: string }> {
    const { app, lb, prometheus } = stack
    // The lab's slots already run the sample app: the install only logs what it was given
    // (deploy.yml refuses haproxy without deploy-command: nothing would install the image).
    rmSync(installs, { force: true })
    const caller = templateCaller('deploy-production', {
      'trivy-path': fakeTrivyPath(),
      'deploy-command': installScript,
      router: 'haproxy',
      'haproxy-socket': lb.socket,
      'health-url-blue': `${app.blue.url}/healthz`,
      'health-url-green': `${app.green.url}/healthz`,
      'prometheus-url': prometheus.url,
      'canary-steps': '5,50,100',
      'step-duration': '3s',
      'analysis-interval': '3s',
      'min-requests': '10',
      // about the workflow's path; the canary's statistics: test/canary/interval.e2e
      'error-judgement': 'point',
      namespace: undefined,
      service: undefined,
      app: undefined,
      httproute: undefined,
      'aws-role-to-assume': undefined,
      'aws-region': undefined,
      'eks-cluster': undefined
    })
    const dir = removeLater(
      makeCallerRepo({ '.github/workflows/deploy-production.yml': caller }, 'main')
    )
    const sha = headSha(dir)
    const pushed = await pushImage({ url: registry.url }, 'shop', `sha-${sha}`, {
      layers: 1,
      layerBytes: 1024
    })
    const run = await runAct({
      callerFiles: {},
      callerDir: dir,
      branch: 'main',
      workflow: '.github/workflows/deploy-production.yml',
      event: 'push',
      vars: { IMAGE: `${registry.host}/shop` },
      apiUrl: api.url,
      token: api.token,
      env: fakeTrivyEnv('trivy-image-slmicro-clean-zero-vulns.json'),
      timeoutMs: 300_000
    })
    return { run, sha, digest: pushed.digest }
  }

  it('promotes a good canary; Deployment success, the previous one inactive', async () => {
    // The production deployment before this release, as GitHub would list it.
    api.deployments.push({
      id: 1000,
      repo: 'acme/shop',
      environment: 'production',
      ref: 'previous',
      payload: {},
      statuses: [{ state: 'success' }]
    })
    const { run, sha, digest } = await release()
    if (jobResult(run, 'release') !== 'success') throw new Error(explain(run))
    expect(run.exitCode).toBe(0)
    expect(readFileSync(installs, 'utf8').trim()).toBe(`green ${registry.host}/shop@${digest}`)
    // green (the canary, now live) recorded; `production` read back from HAProxy: green's image
    expect(await tagDigest('production-green')).toBe(digest)
    expect(await tagDigest('production')).toBe(digest)
    expect(await stack.lb.command('get weight app/green')).toMatch(/^100 /)
    expect(await stack.lb.command('get weight app/blue')).toMatch(/^0 /)
    const mine = api.deployments.filter((d) => d.environment === 'production' && d.ref === sha)
    expect(mine.map((d) => api.lastState(d))).toEqual(['success'])
    expect(api.lastState(api.deployments.find((d) => d.id === 1000)!)).toBe('inactive')
    expect(load.stats().bySlot.green ?? 0).toBeGreaterThan(0)
  })

  it('aborts a canary breaching its error-rate SLO: traffic on stable, run and Deployment fail', async () => {
    await stack.app.green.control({ errorRate: 0.5 })
    const tagged = [await tagDigest('production'), await tagDigest('production-green')]
    try {
      const { run, sha } = await release()
      expect(run.exitCode).not.toBe(0)
      expect(jobResult(run, 'release')).toBe('failure')
      // an aborted canary records and tags nothing
      expect([await tagDigest('production'), await tagDigest('production-green')]).toEqual(tagged)
      expect(await stack.lb.command('get weight app/green')).toMatch(/^0 /)
      expect(await stack.lb.command('get weight app/blue')).toMatch(/^100 /)
      const mine = api.deployments.filter((d) => d.environment === 'production' && d.ref === sha)
      expect(mine.map((d) => api.lastState(d))).toEqual(['failure'])
    } finally {
      await stack.app.green.control({ errorRate: 0 })
    }
  })
})
