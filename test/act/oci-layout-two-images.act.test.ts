/**
 * One caller run that deploys two services built as OCI layouts (two jobs calling deploy.yml,
 * as a caller with one job per service or a matrix over them does). The calls share the run,
 * and an artifact name is the run's: with one fixed default name (and `overwrite: true`) the
 * gates' uploads replaced each other and a build job pushed the OTHER service's layout under its
 * image name. Each call must push its own layout. The release is a dry run on a router that is
 * not there (it fails after the build and scan jobs; this test is about what was pushed).
 * Stand-ins: checkout, upload-artifact, download-artifact.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { enginePath } from '../../lab/engines.js'
import { jobResult, makeCallerRepo, runAct, type ActRun } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { pushImage } from '../image-push/upload.js'
import {
  explain,
  fakeTrivyEnv,
  fakeTrivyPath,
  headSha,
  removeLater,
  removeTempDirs
} from './helpers.js'

// Each act run has its own limit (240 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(300_000)

describe('two deploy.yml calls with oci-layout in one caller run', () => {
  const lab = Lab.create()
  const crane = enginePath('crane')
  let registry: Registry
  const base: Record<string, string> = {}

  beforeAll(async () => {
    registry = await startRegistry(lab)
    base.api = (
      await pushImage({ url: registry.url }, 'base', 'api', { layers: 1, layerBytes: 2048 })
    ).digest
    base.web = (
      await pushImage({ url: registry.url }, 'base', 'web', { layers: 2, layerBytes: 4096 })
    ).digest
  })
  afterAll(async () => {
    await lab.stop()
    removeTempDirs()
  })

  const call = (svc: string, trivy: string) => `
  ${svc}:
    uses: example-org/ops-actions/.github/workflows/deploy.yml@v1
    permissions:
      contents: read
      packages: write
      deployments: write
      id-token: write
    with:
      environment: staging
      image: ${registry.host}/${svc}
      build: '${JSON.stringify([crane, 'pull', '--format=oci', `${registry.host}/base:${svc}`, 'build/oci'])}'
      test: "true"
      oci-layout: build/oci
      trivy-path: ${trivy}
      router: haproxy
      haproxy-socket: /nonexistent/ops-a12.sock
      dry-run: true
`

  function outputOf(run: ActRun, callerJob: string, name: string): string | undefined {
    return run.outputs.filter((o) => o.job.startsWith(`${callerJob}/`) && o.name === name).at(-1)
      ?.value
  }

  it('pushes each service its own layout', async () => {
    const trivy = fakeTrivyPath()
    const workflow = `name: Deploy services\non: push\npermissions: {}\njobs:${call('api', trivy)}${call('web', trivy)}`
    const dir = removeLater(makeCallerRepo({ '.github/workflows/deploy.yml': workflow }, 'develop'))
    const run = await runAct({
      callerFiles: {},
      callerDir: dir,
      branch: 'develop',
      workflow: '.github/workflows/deploy.yml',
      event: 'push',
      env: fakeTrivyEnv('trivy-image-slmicro-clean-zero-vulns.json'),
      timeoutMs: 240_000
    })
    const sha = headSha(dir)
    const pushed = (svc: string) =>
      execFileSync(crane, ['digest', `${registry.host}/${svc}:sha-${sha}`], {
        encoding: 'utf8'
      }).trim()
    const builds = run.jobs.filter((j) => j.name.endsWith('/build'))
    if (builds.length !== 2 || builds.some((j) => j.result !== 'success'))
      throw new Error(explain(run))
    expect({ api: pushed('api'), web: pushed('web') }).toEqual({ api: base.api, web: base.web })
    expect({ api: outputOf(run, 'api', 'digest'), web: outputOf(run, 'web', 'digest') }).toEqual({
      api: base.api,
      web: base.web
    })
    const names = ['api', 'web'].map((svc) => outputOf(run, svc, 'oci-layout-artifact'))
    expect(names.every((n) => n?.startsWith('oci-layout-'))).toBe(true)
    expect(names[0]).not.toBe(names[1])
    expect(jobResult(run, 'gate')).toBe('success')
  })
})
