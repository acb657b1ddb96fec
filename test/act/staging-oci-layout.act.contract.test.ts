/**
 * Scenario 1 end to end, built from the commit without Docker: the staging template under act
 * with `oci-layout`. The gate job (contents: read) runs the caller's build command, a real
 * `crane pull --format=oci` of a base image the test pushed to the lab registry, writing an OCI
 * image layout, then the sample service's pytest; it uploads the layout as an artifact. The build
 * job (packages: write, no caller code) downloads it and pushes it with image-push
 * `mode: oci-layout` as sha-<commit>; then the scan gate (fake trivy: no vulnerability DB
 * offline), blue-green on a real HAProxy with its Deployment record, the environment tags.
 * Stand-ins: checkout, upload-artifact, download-artifact.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { jobResult, makeCallerRepo, REPO_ROOT, runAct, stepOutput } from '../../lab/act.js'
import { enginePath } from '../../lab/engines.js'
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
  haproxyWith,
  headSha,
  fakeTrivyPath,
  removeLater,
  removeTempDirs,
  templateCaller
} from './helpers.js'

// Each act run has its own limit (300 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(360_000)

const SERVICE = join(REPO_ROOT, 'lab', 'demo-data', 'service')
const service = (): Record<string, string> =>
  Object.fromEntries(
    readdirSync(SERVICE).map((f) => [`service/${f}`, readFileSync(join(SERVICE, f), 'utf8')])
  )

const PYTEST = JSON.stringify([
  '/usr/bin/python3',
  '-m',
  'pytest',
  '-q',
  '-p',
  'no:cacheprovider',
  '--junitxml=reports/junit.xml'
])

describe('staging template under act, built from the commit as an OCI layout (no Docker)', () => {
  const lab = Lab.create()
  const crane = enginePath('crane')
  let lb: HaproxyInstance
  let api: FakeGitHubApi
  let registry: Registry
  let app: Awaited<ReturnType<typeof startApp>>
  let base: { digest: string }
  let base2: { digest: string }

  beforeAll(async () => {
    app = await startApp(lab)
    lb = await startHaproxy(lab, {
      servers: [
        { name: 'blue', address: `127.0.0.1:${app.blue.port}`, weight: 100 },
        { name: 'green', address: `127.0.0.1:${app.green.port}`, weight: 0 }
      ]
    })
    ;[api, registry] = await Promise.all([startFakeGitHubApi(), startRegistry(lab)])
    // In another repository: every blob of `shop` must come from the layout.
    base = await pushImage({ url: registry.url }, 'base', '1', {
      layers: 2,
      layerBytes: 4096,
      oci: true
    })
    base2 = await pushImage({ url: registry.url }, 'base', '2', { layers: 1, layerBytes: 4096 })
  })
  afterAll(async () => {
    await api.close()
    await lab.stop()
    removeTempDirs()
  })

  /** The caller: the staging template, its build writing a layout with crane (working-directory service). */
  function caller(build: string[], extra: Record<string, string | undefined> = {}): string {
    return templateCaller('deploy-staging', {
      ...haproxyWith(lb.socket, app),
      'trivy-path': fakeTrivyPath(),
      build: JSON.stringify(build),
      test: PYTEST,
      'working-directory': 'service',
      'test-reports': 'reports/*.xml',
      'coverage-reports': undefined,
      'min-coverage': undefined,
      'oci-layout': 'build/oci',
      'verify-url': lb.url,
      // about the workflow's path; the verification's statistics: test/deploy-bluegreen/verification.e2e
      'error-judgement': 'point',
      namespace: undefined,
      service: undefined,
      app: undefined,
      'eks-cluster': undefined,
      'aws-role-to-assume': undefined,
      // required off kubernetes (check-inputs); the release case passes its own
      'deploy-command': '/bin/true',
      ...extra
    })
  }

  async function run(workflow: string) {
    const dir = removeLater(
      makeCallerRepo({ ...service(), '.github/workflows/deploy-staging.yml': workflow }, 'develop')
    )
    const result = await runAct({
      callerFiles: {},
      callerDir: dir,
      branch: 'develop',
      workflow: '.github/workflows/deploy-staging.yml',
      event: 'push',
      vars: { IMAGE: `${registry.host}/shop` },
      apiUrl: api.url,
      token: api.token,
      env: fakeTrivyEnv('trivy-image-slmicro-clean-zero-vulns.json'),
      timeoutMs: 300_000
    })
    return { result, sha: headSha(dir) }
  }

  const jobsOf = (result: Awaited<ReturnType<typeof run>>['result']) =>
    Object.fromEntries(
      ['check-inputs', 'gate', 'build', 'promote', 'scan', 'release'].map((j) => [
        j,
        jobResult(result, j)
      ])
    )

  const tagDigest = async (tag: string): Promise<string | null> => {
    const res = await fetch(`${registry.url}/v2/shop/manifests/${tag}`, {
      method: 'HEAD',
      headers: {
        accept: [
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.oci.image.index.v1+json',
          'application/vnd.docker.distribution.manifest.v2+json'
        ].join(', ')
      }
    })
    return res.ok ? res.headers.get('docker-content-digest') : null
  }

  it('gate writes the layout with crane, build pushes it as sha-<commit>, released on green', async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    const installs = lab.path('installs.log')
    const deployCommand = join(lab.mkdir('bin'), 'install-slot')
    writeFileSync(deployCommand, `#!/bin/sh\necho "$OPS_SLOT $OPS_IMAGE" >> "${installs}"\n`)
    chmodSync(deployCommand, 0o755)
    const { result, sha } = await run(
      caller([crane, 'pull', '--format=oci', `${registry.host}/base:1`, '../build/oci'], {
        'deploy-command': deployCommand
      })
    )
    if (jobResult(result, 'release') !== 'success') throw new Error(explain(result))
    expect(jobsOf(result)).toEqual({
      'check-inputs': 'success',
      gate: 'success',
      build: 'success',
      promote: undefined,
      scan: 'success',
      release: 'success'
    })
    expect(result.exitCode).toBe(0)
    // The gate ran the real tests too.
    expect(stepOutput(result, 'gate', 'failures')).toBe('0')
    // What the registry has for sha-<commit>, read by crane, is what the build job reported, what
    // the idle slot got and what the release job tagged; it is the layout's image (crane pull keeps
    // the manifest bytes, so its digest is the base image's).
    const pushed = execFileSync(crane, ['digest', `${registry.host}/shop:sha-${sha}`], {
      encoding: 'utf8'
    }).trim()
    expect(pushed).toBe(base.digest)
    expect(stepOutput(result, 'build', 'digest')).toBe(pushed)
    expect(readFileSync(installs, 'utf8').trim()).toBe(`green ${registry.host}/shop@${pushed}`)
    expect(await tagDigest('staging')).toBe(pushed)
    expect(await tagDigest('staging-green')).toBe(pushed)
    expect(await tagDigest('develop')).toBe(pushed)
    // Traffic on the new slot; one Deployment on this commit, success.
    expect(await slotCounts(lb.url, 20)).toEqual({ green: 20 })
    expect(stepOutput(result, 'release', 'live-slot')).toBe('green')
    const recorded = api.deployments.filter((d) => d.environment === 'staging')
    expect(recorded.map((d) => [d.ref, api.lastState(d)])).toEqual([[sha, 'success']])
  })

  it('pushes nothing when the gate hands on a corrupt layout (caller code wrote it)', async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    const before = api.deployments.length
    // One byte appended to every blob: sizes and hashes no longer match the manifests.
    const script =
      `"$0" pull --format=oci "$1" ../build/oci && ` +
      `for f in ../build/oci/blobs/sha256/*; do printf x >> "$f"; done`
    const { result, sha } = await run(
      caller(['/bin/sh', '-c', script, crane, `${registry.host}/base:1`])
    )
    expect(result.exitCode).not.toBe(0)
    expect(jobResult(result, 'gate')).toBe('success')
    expect(jobResult(result, 'build')).toBe('failure')
    expect(result.log).toMatch(/corrupt/)
    expect(jobResult(result, 'release')).toBeUndefined()
    expect(await tagDigest(`sha-${sha}`)).toBeNull()
    expect(await slotCounts(lb.url, 10)).toEqual({ blue: 10 })
    expect(api.deployments.length).toBe(before)
  })

  it('pushes the image oci-layout-ref names from a layout holding two; none named: nothing', async () => {
    const both = [
      crane,
      'pull',
      '--format=oci',
      '--annotate-ref',
      `${registry.host}/base:1`,
      `${registry.host}/base:2`,
      '../build/oci'
    ]
    const ambiguous = await run(caller(both))
    expect(jobResult(ambiguous.result, 'gate')).toBe('success')
    expect(jobResult(ambiguous.result, 'build')).toBe('failure')
    expect(ambiguous.result.log).toMatch(
      /index\.json lists 2 images .*choose one with `oci-layout-ref`/
    )
    expect(jobResult(ambiguous.result, 'release')).toBeUndefined()
    expect(await tagDigest(`sha-${ambiguous.sha}`)).toBeNull()

    await lb.command('set weight app/blue 100; set weight app/green 0')
    const { result, sha } = await run(caller(both, { 'oci-layout-ref': `${registry.host}/base:2` }))
    if (jobResult(result, 'release') !== 'success') throw new Error(explain(result))
    expect(base2.digest).not.toBe(base.digest)
    expect(await tagDigest(`sha-${sha}`)).toBe(base2.digest)
    expect(stepOutput(result, 'build', 'image')).toBe(`${registry.host}/shop@${base2.digest}`)
    expect(await slotCounts(lb.url, 10)).toEqual({ green: 10 })
  })

  it('fails the gate when the build writes no layout; nothing pushed or released', async () => {
    const before = api.deployments.length
    const { result, sha } = await run(caller([crane, 'version']))
    expect(result.exitCode).not.toBe(0)
    expect(jobResult(result, 'gate')).toBe('failure')
    expect(result.log).toMatch(/no files found at 'build\/oci'/)
    expect(jobResult(result, 'build')).toBeUndefined()
    expect(await tagDigest(`sha-${sha}`)).toBeNull()
    expect(api.deployments.length).toBe(before)
  })

  it.each([
    [
      'a path outside the repository',
      { 'oci-layout': '../../etc' },
      /oci-layout = '\.\.\/\.\.\/etc'/
    ],
    ['an absolute path', { 'oci-layout': '/etc' }, /oci-layout = '\/etc'/],
    ['a hidden directory', { 'oci-layout': 'build/.oci' }, /a hidden directory/],
    ['a layout with promote-from', { 'promote-from': 'ci' }, /promotion builds nothing/],
    ['an artifact name with a slash', { 'oci-layout-artifact': 'a/b' }, /oci-layout-artifact/]
  ])('stops at check-inputs on %s', async (_what, extra, message) => {
    const { result } = await run(caller([crane, 'version'], extra))
    if (jobResult(result, 'check-inputs') !== 'failure' || !message.test(result.log))
      throw new Error(explain(result))
    expect(result.exitCode).not.toBe(0)
    expect(jobResult(result, 'check-inputs')).toBe('failure')
    expect(result.log).toMatch(message)
    expect(jobResult(result, 'gate')).toBeUndefined()
    expect(jobResult(result, 'build')).toBeUndefined()
  })
})
