/**
 * The environment image tag after a rollback, and a rollback by version, under act (host mode)
 * with the rollback template on a real HAProxy and the lab registry:
 * - back to the previous slot: `production` is moved to the image that slot runs, read back from
 *   the router and from the record `production-<slot>` each release writes;
 * - a release landing between the rollback's switch and its tag (a deploy queued behind it in
 *   its own concurrency group; played here by the test, which switches HAProxy to green the moment
 *   the rollback writes the tag, through a proxy in front of the registry): the rollback reads the
 *   router again and the tag ends on what is live;
 * - by version: the tag is resolved to a digest, that digest is scanned (fake trivy), and only a
 *   clean one is released, pinned by digest; one with findings is refused and nothing switches.
 * Stand-ins: none reached (the rollback path has no third-party step with these inputs).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { jobResult, runAct, type ActRun } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { startApp } from '../../lab/services/app.js'
import { startHaproxy, type HaproxyInstance } from '../../lab/services/haproxy.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { slotCounts } from '../deploy-bluegreen/helpers.js'
import { startFakeGitHubApi, type FakeGitHubApi } from '../fakes/github-api.js'
import { pushImage } from '../image-push/upload.js'
import {
  explain,
  fakeTrivyEnv,
  fakeTrivyPath,
  haproxyWith,
  registryProxy,
  type RegistryProxy,
  removeTempDirs,
  templateCaller,
  tagDigest as registryTagDigest
} from './helpers.js'

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'

describe('rollback template under act: the environment tag follows what is live', () => {
  const lab = Lab.create()
  let lb: HaproxyInstance
  let api: FakeGitHubApi
  let registry: Registry
  let app: Awaited<ReturnType<typeof startApp>>
  let proxy: RegistryProxy
  let proxyHost: string
  let digests: { blue: string; green: string }

  function digestOf(tag: string): Promise<string | null> {
    return registryTagDigest(registry.url, 'shop', tag, MANIFEST)
  }

  async function tag(digest: string, name: string): Promise<void> {
    const got = await fetch(`${registry.url}/v2/shop/manifests/${digest}`, {
      headers: { accept: MANIFEST }
    })
    const put = await fetch(`${registry.url}/v2/shop/manifests/${name}`, {
      method: 'PUT',
      headers: { 'content-type': MANIFEST },
      body: Buffer.from(await got.arrayBuffer())
    })
    if (put.status !== 201) throw new Error(`tag ${name}: ${put.status}`)
  }

  beforeAll(async () => {
    app = await startApp(lab)
    lb = await startHaproxy(lab, {
      servers: [
        { name: 'blue', address: `127.0.0.1:${app.blue.port}`, weight: 0 },
        { name: 'green', address: `127.0.0.1:${app.green.port}`, weight: 100 }
      ]
    })
    ;[api, registry] = await Promise.all([startFakeGitHubApi(), startRegistry(lab)])
    proxy = await registryProxy(registry.url)
    proxyHost = proxy.host
  })
  afterAll(async () => {
    await proxy.close()
    await api.close()
    await lab.stop()
    removeTempDirs()
  })
  beforeEach(async () => {
    // After a release of green over blue: each slot's record, `production` on green's image.
    const blue = await pushImage({ url: registry.url }, 'shop', 'production-blue', {
      layers: 1,
      layerBytes: 1024
    })
    const green = await pushImage({ url: registry.url }, 'shop', 'production-green', {
      layers: 1,
      layerBytes: 1024
    })
    digests = { blue: blue.digest, green: green.digest }
    await tag(green.digest, 'production')
    await lb.command(
      'experimental-mode on; set var proc.opsactions_previous str(blue); set weight app/blue 0; set weight app/green 100'
    )
  })

  async function rollback(target = '', extra: Record<string, string> = {}): Promise<ActRun> {
    return runAct({
      callerFiles: {
        '.github/workflows/rollback.yml': templateCaller('rollback', {
          ...haproxyWith(lb.socket, app),
          'trivy-path': fakeTrivyPath(),
          namespace: undefined,
          service: undefined,
          app: undefined,
          httproute: undefined,
          'aws-role-to-assume': undefined,
          'aws-region': undefined,
          'eks-cluster': undefined,
          ...extra
        })
      },
      workflow: '.github/workflows/rollback.yml',
      event: 'workflow_dispatch',
      payload: { inputs: { environment: 'production', target, 'dry-run': 'false' } },
      vars: { IMAGE: `${proxyHost}/shop` },
      apiUrl: api.url,
      token: api.token,
      env: fakeTrivyEnv('trivy-image-slmicro-clean-zero-vulns.json'),
      timeoutMs: 240_000
    })
  }

  it('back to the previous slot: `production` names the image blue runs', async () => {
    const run = await rollback()
    if (jobResult(run, 'rollback') !== 'success') throw new Error(explain(run))
    expect(await slotCounts(lb.url, 10)).toEqual({ blue: 10 })
    expect(await digestOf('production')).toBe(digests.blue)
  })

  it('two rollbacks dispatched together: the second, queued behind the first, changes nothing', async () => {
    // GitHub runs them one after the other in rollback.yml's concurrency group.
    const first = await rollback()
    if (jobResult(first, 'rollback') !== 'success') throw new Error(explain(first))
    const second = await rollback()
    expect(jobResult(second, 'rollback')).toBe('failure')
    expect(second.log).toMatch(/nothing to roll back to: blue is live and the idle slot green/)
    expect(await slotCounts(lb.url, 10)).toEqual({ blue: 10 })
    expect(await digestOf('production')).toBe(digests.blue)
  })

  it('first rollback after the upgrade (no slot record): traffic back, the job passes, a warning says so', async () => {
    // An image whose slots were released before records existed: only `production` is there.
    const old = await pushImage({ url: registry.url }, 'legacy', 'production', {
      layers: 1,
      layerBytes: 1024
    })
    const run = await runAct({
      callerFiles: {
        '.github/workflows/rollback.yml': templateCaller('rollback', {
          ...haproxyWith(lb.socket, app),
          namespace: undefined,
          service: undefined,
          app: undefined,
          httproute: undefined,
          'aws-role-to-assume': undefined,
          'aws-region': undefined,
          'eks-cluster': undefined
        })
      },
      workflow: '.github/workflows/rollback.yml',
      event: 'workflow_dispatch',
      payload: { inputs: { environment: 'production', target: '', 'dry-run': 'false' } },
      vars: { IMAGE: `${proxyHost}/legacy` },
      apiUrl: api.url,
      token: api.token,
      timeoutMs: 240_000
    })
    // The switch is what a rollback is for: a failed job here would invite a re-run, which
    // switches traffic again, to the release just rolled away from.
    if (jobResult(run, 'rollback') !== 'success') throw new Error(explain(run))
    expect(await slotCounts(lb.url, 10)).toEqual({ blue: 10 })
    expect(run.log).toMatch(
      /the rollback itself succeeded: traffic is on the live slot blue .*do not re-run this job .*legacy:production was not moved: no readable record .*legacy:production-blue/
    )
    const res = await fetch(`${registry.url}/v2/legacy/manifests/production`, {
      method: 'HEAD',
      headers: { accept: MANIFEST }
    })
    expect(res.headers.get('docker-content-digest')).toBe(old.digest)
  })

  it('a release switching while the rollback tags: read again, the tag ends on what is live', async () => {
    let switched = false
    proxy.beforePut('shop', 'production', async () => {
      // A deploy queued behind the rollback (deploy.yml's group) releases green again.
      await lb.command(
        'experimental-mode on; set var proc.opsactions_previous str(blue); set weight app/green 100'
      )
      await lb.command('set weight app/blue 0')
      switched = true
    })
    const run = await rollback()
    if (jobResult(run, 'rollback') !== 'success') throw new Error(explain(run))
    expect(switched).toBe(true)
    expect(await slotCounts(lb.url, 10)).toEqual({ green: 10 })
    expect(await digestOf('production')).toBe(digests.green)
  })

  it('by version: the digest is scanned, released pinned and recorded; `production` follows', async () => {
    const v = await pushImage({ url: registry.url }, 'shop', '1.4.2', {
      layers: 1,
      layerBytes: 1024
    })
    const installs = lab.path('installs.log')
    const deployCommand = join(lab.mkdir('bin'), 'install-slot')
    writeFileSync(deployCommand, `#!/bin/sh\necho "$OPS_SLOT $OPS_IMAGE" > "${installs}"\n`)
    chmodSync(deployCommand, 0o755)
    const run = await rollback('1.4.2', { 'deploy-command': deployCommand })
    if (jobResult(run, 'rollback') !== 'success') throw new Error(explain(run))
    expect(jobResult(run, 'scan')).toBe('success')
    expect(readFileSync(installs, 'utf8').trim()).toBe(`blue ${proxyHost}/shop@${v.digest}`)
    expect(await slotCounts(lb.url, 10)).toEqual({ blue: 10 })
    expect(await digestOf('production-blue')).toBe(v.digest)
    expect(await digestOf('production')).toBe(v.digest)
  })

  it('by version: a digest with findings is refused; nothing switches, no tag moves', async () => {
    await pushImage({ url: registry.url }, 'shop', '1.4.1', { layers: 1, layerBytes: 1024 })
    const before = api.deployments.length
    const installs = lab.path('installs-refused.log')
    const deployCommand = join(lab.mkdir('bin-refused'), 'install-slot')
    writeFileSync(deployCommand, `#!/bin/sh\necho "$OPS_SLOT $OPS_IMAGE" > "${installs}"\n`)
    chmodSync(deployCommand, 0o755)
    const run = await runAct({
      callerFiles: {
        '.github/workflows/rollback.yml': templateCaller('rollback', {
          ...haproxyWith(lb.socket, app),
          'trivy-path': fakeTrivyPath(),
          namespace: undefined,
          service: undefined,
          app: undefined,
          httproute: undefined,
          'aws-role-to-assume': undefined,
          'aws-region': undefined,
          'eks-cluster': undefined,
          'deploy-command': deployCommand
        })
      },
      workflow: '.github/workflows/rollback.yml',
      event: 'workflow_dispatch',
      payload: { inputs: { environment: 'production', target: '1.4.1', 'dry-run': 'false' } },
      vars: { IMAGE: `${proxyHost}/shop` },
      apiUrl: api.url,
      token: api.token,
      env: fakeTrivyEnv('trivy-image-debian-buster-critical-and-unfixed.json'),
      timeoutMs: 240_000
    })
    expect(run.exitCode).not.toBe(0)
    expect(jobResult(run, 'scan')).toBe('failure')
    expect(jobResult(run, 'rollback')).toBeUndefined()
    expect(existsSync(installs)).toBe(false)
    expect(await slotCounts(lb.url, 10)).toEqual({ green: 10 })
    expect(api.deployments.length).toBe(before)
    expect(await digestOf('production')).toBe(digests.green)
    expect(await digestOf('production-blue')).toBe(digests.blue)
  })
})
