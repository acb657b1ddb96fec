/**
 * Scenario 1: push to develop -> staging, the staging template under act, blue-green on a real
 * HAProxy. The image of this commit (sha-<commit>) is pushed to the lab registry by the test
 * setup and the caller sets `promote-from: ci`: the template's default build (image-push `mode:
 * build`) needs Docker, which this machine does not have, so that job is NOT reached here (the
 * build from the commit without Docker, `oci-layout`, is staging-oci-layout.act.contract.test.ts).
 * Everything after it runs: promote of this commit's
 * digest, the scan gate (fake trivy: no vulnerability DB offline), the release on HAProxy with
 * its Deployment record, and the release job recording the digest as `staging-green` (what the
 * slot runs) and tagging it `staging` after reading the live slot back from HAProxy.
 * Stand-ins: none reached on this path (no checkout in promote/scan/release).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { jobResult, makeCallerRepo, runAct, stepOutput } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { startApp } from '../../lab/services/app.js'
import { startHaproxy, type HaproxyInstance } from '../../lab/services/haproxy.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { slotCounts } from '../deploy-bluegreen/helpers.js'
import { startFakeGitHubApi, type FakeGitHubApi } from '../fakes/github-api.js'
import { pushImage } from '../image-push/upload.js'
import {
  explain,
  haproxyWith,
  headSha,
  fakeTrivyEnv,
  fakeTrivyPath,
  registryProxy,
  removeLater,
  removeTempDirs,
  templateCaller
} from './helpers.js'

// Each act run has its own limit (300 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(360_000)

describe('staging template under act (host mode): promote, scan gate, blue-green on HAProxy', () => {
  const lab = Lab.create()
  let lb: HaproxyInstance
  let api: FakeGitHubApi
  let registry: Registry
  let app: Awaited<ReturnType<typeof startApp>>

  beforeAll(async () => {
    app = await startApp(lab)
    lb = await startHaproxy(lab, {
      servers: [
        { name: 'blue', address: `127.0.0.1:${app.blue.port}`, weight: 100 },
        { name: 'green', address: `127.0.0.1:${app.green.port}`, weight: 0 }
      ]
    })
    ;[api, registry] = await Promise.all([startFakeGitHubApi(), startRegistry(lab)])
  })
  afterAll(async () => {
    await api.close()
    await lab.stop()
    removeTempDirs()
  })

  it('releases the digest of this commit to the idle slot; the Deployment is success', async () => {
    const image = `${registry.host}/shop`
    const installs = lab.path('installs.log')
    const deployCommand = join(lab.mkdir('bin'), 'install-slot')
    writeFileSync(deployCommand, `#!/bin/sh\necho "$OPS_SLOT $OPS_IMAGE" >> "${installs}"\n`)
    chmodSync(deployCommand, 0o755)
    const caller = templateCaller('deploy-staging', {
      ...haproxyWith(lb.socket, app),
      'trivy-path': fakeTrivyPath(),
      'promote-from': 'ci',
      'deploy-command': deployCommand,
      'verify-url': lb.url,
      // about the workflow's path; the verification's statistics: test/deploy-bluegreen/verification.e2e
      'error-judgement': 'point',
      namespace: undefined,
      service: undefined,
      app: undefined,
      'eks-cluster': undefined,
      'aws-role-to-assume': undefined
    })
    const dir = removeLater(
      makeCallerRepo({ '.github/workflows/deploy-staging.yml': caller }, 'develop')
    )
    const sha = headSha(dir)
    const pushed = await pushImage({ url: registry.url }, 'shop', `sha-${sha}`, {
      layers: 1,
      layerBytes: 2048
    })
    const run = await runAct({
      callerFiles: {},
      callerDir: dir,
      branch: 'develop',
      workflow: '.github/workflows/deploy-staging.yml',
      event: 'push',
      vars: { IMAGE: image },
      apiUrl: api.url,
      token: api.token,
      env: fakeTrivyEnv('trivy-image-slmicro-clean-zero-vulns.json'),
      timeoutMs: 300_000
    })
    const jobs = Object.fromEntries(
      ['check-inputs', 'gate', 'build', 'promote', 'scan', 'release'].map((j) => [
        j,
        jobResult(run, j)
      ])
    )
    if (jobs.release !== 'success') throw new Error(explain(run))
    expect(jobs).toEqual({
      'check-inputs': 'success',
      gate: undefined,
      build: undefined,
      promote: 'success',
      scan: 'success',
      release: 'success'
    })
    expect(run.exitCode).toBe(0)
    // Traffic on the new slot, which got exactly this commit's digest.
    expect(await slotCounts(lb.url, 20)).toEqual({ green: 20 })
    expect(readFileSync(installs, 'utf8').trim()).toBe(`green ${image}@${pushed.digest}`)
    expect(stepOutput(run, 'release', 'live-slot')).toBe('green')
    // One Deployment for staging, on this commit, success.
    const recorded = api.deployments.filter((d) => d.environment === 'staging')
    expect(recorded.map((d) => [d.ref, api.lastState(d)])).toEqual([[sha, 'success']])
    // The release job recorded green's image and tagged the live slot's image `staging`.
    for (const tag of ['staging-green', 'staging']) {
      const res = await fetch(`${registry.url}/v2/shop/manifests/${tag}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' }
      })
      expect([tag, res.headers.get('docker-content-digest')]).toEqual([tag, pushed.digest])
    }
  })

  // A rollback (rollback.yml, its own concurrency group) switching back to blue while this
  // release writes the `staging` tag: played by the test, through a proxy holding that PUT.
  it('a rollback switching while the release tags: read again, `staging` ends on what is live', async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    const blue = await pushImage({ url: registry.url }, 'shop', 'staging-blue', {
      layers: 1,
      layerBytes: 512
    })
    const proxy = await registryProxy(registry.url)
    let switched = false
    proxy.beforePut('shop', 'staging', async () => {
      await lb.command(
        'experimental-mode on; set var proc.opsactions_previous str(green); set weight app/blue 100'
      )
      await lb.command('set weight app/green 0')
      switched = true
    })
    try {
      const caller = templateCaller('deploy-staging', {
        ...haproxyWith(lb.socket, app),
        'trivy-path': fakeTrivyPath(),
        'promote-from': 'ci',
        // required off kubernetes; the lab's slots already run the app
        'deploy-command': '/bin/true',
        namespace: undefined,
        service: undefined,
        app: undefined,
        'eks-cluster': undefined,
        'aws-role-to-assume': undefined
      })
      const dir = removeLater(
        makeCallerRepo({ '.github/workflows/deploy-staging.yml': caller }, 'develop')
      )
      const pushed = await pushImage({ url: registry.url }, 'shop', `sha-${headSha(dir)}`, {
        layers: 1,
        layerBytes: 512
      })
      const run = await runAct({
        callerFiles: {},
        callerDir: dir,
        branch: 'develop',
        workflow: '.github/workflows/deploy-staging.yml',
        event: 'push',
        vars: { IMAGE: `${proxy.host}/shop` },
        apiUrl: api.url,
        token: api.token,
        env: fakeTrivyEnv('trivy-image-slmicro-clean-zero-vulns.json'),
        timeoutMs: 300_000
      })
      if (jobResult(run, 'release') !== 'success') throw new Error(explain(run))
      expect(switched).toBe(true)
      expect(await slotCounts(lb.url, 10)).toEqual({ blue: 10 })
      const digest = async (tag: string) =>
        (
          await fetch(`${registry.url}/v2/shop/manifests/${tag}`, {
            method: 'HEAD',
            headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' }
          })
        ).headers.get('docker-content-digest')
      // green got this release and keeps its record; `staging` is what is live: blue's image
      expect(await digest('staging-green')).toBe(pushed.digest)
      expect(await digest('staging')).toBe(blue.digest)
    } finally {
      await proxy.close()
    }
  })

  it.each([
    ['a strategy typo', { strategy: 'blue-green' }, 'check-inputs'],
    ['a commit staging never built (no sha-<commit> tag)', {}, 'promote']
  ])('releases nothing on %s', async (_what, extra, failing) => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    const before = api.deployments.length
    const caller = templateCaller('deploy-staging', {
      ...haproxyWith(lb.socket, app),
      'trivy-path': fakeTrivyPath(),
      'promote-from': 'ci',
      // required off kubernetes; the lab's slots already run the app
      'deploy-command': '/bin/true',
      namespace: undefined,
      service: undefined,
      app: undefined,
      'eks-cluster': undefined,
      'aws-role-to-assume': undefined,
      ...extra
    })
    const run = await runAct({
      callerFiles: { '.github/workflows/deploy-staging.yml': caller },
      branch: 'develop',
      workflow: '.github/workflows/deploy-staging.yml',
      event: 'push',
      vars: { IMAGE: `${registry.host}/shop` },
      apiUrl: api.url,
      token: api.token,
      env: fakeTrivyEnv('trivy-image-slmicro-clean-zero-vulns.json')
    })
    expect(run.exitCode).not.toBe(0)
    expect(jobResult(run, failing)).toBe('failure')
    expect(jobResult(run, 'release')).toBeUndefined()
    expect(await slotCounts(lb.url, 10)).toEqual({ blue: 10 })
    expect(api.deployments.length).toBe(before)
  })
})
