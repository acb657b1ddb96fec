/**
 * deploy.yml's Helm path under act (host mode), through the deploy-staging template, against
 * the lab's REAL API server (kube-apiserver + controller-manager + KWOK, test/kube-real/scene.ts)
 * with the real Helm (the cached engine, given as `helm-path` as the scan tests give trivy-path).
 * The release `shop` of charts/sample-service is installed by hand first (as its README says);
 * the workflow reads the live slot from the Service, `helm upgrade --wait`s only the idle slot's
 * image to this commit's digest (lab registry, promote-from: ci), then switches the selector.
 * A digest whose pods never become ready (KWOK holds `<registry>/never-ready@sha256:...` pods
 * not ready) fails helm's --wait: no switch, the selector stays, and the run says so.
 * The kubeconfig reaches the workflow as the KUBECONFIG secret (its contents, as a caller passes it).
 * Stand-ins: checkout (copies the caller repository, which holds the chart).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, relative } from 'node:path'
import { jobResult, makeCallerRepo, REPO_ROOT, runAct, stepOutput } from '../../lab/act.js'
import { enginePath } from '../../lab/engines.js'
import { STUCK_IMAGE_REPOSITORY } from '../../lab/services/kube.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { startScene, type Scene } from '../kube-real/scene.js'
import { startFakeGitHubApi, type FakeGitHubApi } from '../fakes/github-api.js'
import { pushImage } from '../image-push/upload.js'
import {
  explain,
  fakeTrivyEnv,
  fakeTrivyPath,
  headSha,
  removeLater,
  removeTempDirs,
  templateCaller,
  tagDigest as registryTagDigest
} from './helpers.js'

jest.setTimeout(420_000)

const CHART = join(REPO_ROOT, 'charts', 'sample-service')

/** The chart's files as caller-repository files under charts/sample-service. */
function chartFiles(): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else out[relative(REPO_ROOT, path)] = readFileSync(path, 'utf8')
    }
  }
  walk(CHART)
  return out
}

let scene: Scene
let registry: Registry
let api: FakeGitHubApi
let health: Server
let healthUrl: string

function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = scene.lab.mkdir('helm-home')
  const env = {
    ...process.env,
    KUBECONFIG: scene.kube.kubeconfig,
    HELM_CACHE_HOME: `${home}/cache`,
    HELM_CONFIG_HOME: `${home}/config`,
    HELM_DATA_HOME: `${home}/data`
  }
  return new Promise((resolve) => {
    execFile(enginePath('helm'), args, { env, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        stdout,
        stderr
      })
    })
  })
}

/** A namespace with the release `shop` installed by hand, both slots rolled out, blue live. */
async function installed(): Promise<string> {
  const ns = await scene.namespace([])
  const install = await helm(['install', 'shop', CHART, '-n', ns, '--wait', '--timeout', '90s'])
  if (install.code !== 0) throw new Error(`helm install: ${install.stderr}`)
  await scene.rolledOut(ns, 'shop-blue')
  await scene.rolledOut(ns, 'shop-green')
  return ns
}

async function release(ns: string, repository: string, timeout: string) {
  const caller = templateCaller(
    'deploy-staging',
    {
      'trivy-path': fakeTrivyPath(),
      'promote-from': 'ci',
      namespace: ns,
      service: 'shop',
      app: 'shop',
      'health-url-blue': healthUrl,
      'health-url-green': healthUrl,
      'helm-chart': 'charts/sample-service',
      'helm-path': enginePath('helm'),
      'helm-timeout': timeout,
      'eks-cluster': undefined,
      'aws-role-to-assume': undefined,
      'aws-region': undefined
    },
    { KUBECONFIG: '${{ secrets.KUBECONFIG }}' }
  )
  const dir = removeLater(
    makeCallerRepo({ '.github/workflows/deploy-staging.yml': caller, ...chartFiles() }, 'develop')
  )
  const pushed = await pushImage({ url: registry.url }, repository, `sha-${headSha(dir)}`, {
    layers: 1,
    layerBytes: 512
  })
  const run = await runAct({
    callerFiles: {},
    callerDir: dir,
    branch: 'develop',
    workflow: '.github/workflows/deploy-staging.yml',
    event: 'push',
    vars: { IMAGE: `${registry.host}/${repository}` },
    secrets: { KUBECONFIG: readFileSync(scene.kube.kubeconfig, 'utf8') },
    apiUrl: api.url,
    token: api.token,
    env: fakeTrivyEnv('trivy-image-slmicro-clean-zero-vulns.json'),
    timeoutMs: 360_000
  })
  return { run, image: `${registry.host}/${repository}@${pushed.digest}`, digest: pushed.digest }
}

function tagDigest(repository: string, tag: string): Promise<string | null> {
  return registryTagDigest(registry.url, repository, tag)
}

const imageOf = async (ns: string, name: string): Promise<string> =>
  (await scene.deployment(ns, name)).spec.template.spec.containers[0].image

async function helmStatus(ns: string): Promise<{ status: string; version: number }> {
  const r = await helm(['status', 'shop', '-n', ns, '-o', 'json'])
  const s = JSON.parse(r.stdout) as { info: { status: string }; version: number }
  return { status: s.info.status, version: s.version }
}

beforeAll(async () => {
  scene = await startScene()
  ;[registry, api] = await Promise.all([startRegistry(scene.lab), startFakeGitHubApi()])
  // Stands in for each slot's health endpoint: KWOK's pods run no containers to answer.
  health = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve))
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/healthz`
}, 300_000)
afterAll(async () => {
  await new Promise((resolve) => health?.close(resolve))
  await api?.close()
  await scene?.stop()
  removeTempDirs()
})

describe('deploy.yml Helm path under act on the real API server', () => {
  it('helm upgrades only the idle slot to the digest, then switches the Service to it', async () => {
    const ns = await installed()
    const { run, image, digest } = await release(ns, 'shop', '90s')
    if (jobResult(run, 'release') !== 'success') throw new Error(explain(run))
    expect((await scene.service(ns, 'shop')).spec.selector).toEqual({ app: 'shop', slot: 'green' })
    expect(await imageOf(ns, 'shop-green')).toBe(image)
    expect(await imageOf(ns, 'shop-blue')).toBe('registry.k8s.io/e2e-test-images/agnhost:2.43')
    // The upgrade was Helm's (a new revision), and its --wait saw the slot rolled out.
    expect(await helmStatus(ns)).toEqual({ status: 'deployed', version: 2 })
    await scene.rolledOut(ns, 'shop-green')
    expect(run.output).toMatch(/live blue: helm upgrade of slot green, then the switch to it/)
    expect(stepOutput(run, 'release', 'live-slot')).toBe('green')
    expect(await tagDigest('shop', 'staging-green')).toBe(digest)
  })

  it('a slot that never becomes ready fails helm --wait: no switch, the selector stays, and the run says so', async () => {
    const ns = await installed()
    const { run, image } = await release(ns, STUCK_IMAGE_REPOSITORY, '15s')
    expect(jobResult(run, 'release')).toBe('failure')
    // The script's annotation, and the action's own error with Helm's reason.
    expect(run.log).toMatch(
      /::error::helm upgrade of release shop, slot green \(.*\), failed or was not ready within 15s: no switch, traffic stays on blue/
    )
    expect(run.log).toMatch(/exited with 1; no switch, traffic unchanged: .*UPGRADE FAILED/)
    const svc = await scene.service(ns, 'shop')
    expect(svc.spec.selector).toEqual({ app: 'shop', slot: 'blue' })
    expect(svc.metadata.annotations?.['ops-actions.io/lock']).toBeUndefined()
    // Helm did write the new template; its pods were held not ready, so the rollout never ended.
    expect(await imageOf(ns, 'shop-green')).toBe(image)
    expect(await helmStatus(ns)).toEqual({ status: 'failed', version: 2 })
    const green = await scene.deployment(ns, 'shop-green')
    expect(green.status.updatedReplicas ?? 0).toBeLessThan(2)
    // No record of a release into green: it was never released.
    expect(await tagDigest(STUCK_IMAGE_REPOSITORY, 'staging-green')).toBeNull()
  })
})
