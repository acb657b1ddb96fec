/**
 * deploy.yml's scan gate must not use a Trivy DB that code of an earlier job could have made.
 * The gate job runs the caller's build and tests (dependency code) with the job's Actions cache
 * token; the scan job runs later in the same run, on the same branch's cache scope. Here the
 * caller's build saves today's `trivy-db-<os>-<date>` entry first (test/act/samples/
 * poison-trivy-cache.mjs): before the fix the scan job restored it ("restored Trivy
 * vulnerability DB from cache entry ..."), and a DB whose metadata says it is fresh is never
 * replaced by Trivy. The scan now uses no Actions cache and a cache dir of its own in
 * RUNNER_TEMP. (The fake trivy stands in for Trivy: no DB can be downloaded offline.)
 * Stand-ins: checkout, upload-artifact, download-artifact.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { join } from 'node:path'
import { enginePath } from '../../lab/engines.js'
import { jobResult, makeCallerRepo, REPO_ROOT, runAct } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { pushImage } from '../image-push/upload.js'
import { explain, fakeTrivyEnv, fakeTrivyPath, removeLater, removeTempDirs } from './helpers.js'

// Each act run has its own limit (180 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(240_000)

describe('the scan gate and a Trivy DB cache entry saved by the gate job', () => {
  const lab = Lab.create()
  const crane = enginePath('crane')
  let registry: Registry

  beforeAll(async () => {
    registry = await startRegistry(lab)
    await pushImage({ url: registry.url }, 'base', '1', { layers: 1, layerBytes: 2048 })
  })
  afterAll(async () => {
    await lab.stop()
    removeTempDirs()
  })

  it('restores nothing the gate saved: the scan gets its DB itself', async () => {
    const poison = join(REPO_ROOT, 'test', 'act', 'samples', 'poison-trivy-cache.mjs')
    const build = JSON.stringify([
      '/bin/sh',
      '-c',
      `${crane} pull --format=oci ${registry.host}/base:1 build/oci && "${process.execPath}" "${poison}"`
    ])
    const workflow = `name: Deploy
on: push
permissions: {}
jobs:
  deploy:
    uses: example-org/ops-actions/.github/workflows/deploy.yml@v1
    permissions:
      contents: read
      packages: write
      deployments: write
      id-token: write
    with:
      environment: staging
      image: ${registry.host}/shop
      build: '${build}'
      test: "true"
      oci-layout: build/oci
      trivy-path: ${fakeTrivyPath()}
      router: haproxy
      haproxy-socket: /nonexistent/ops-scan-cache.sock
      dry-run: true
`
    const dir = removeLater(makeCallerRepo({ '.github/workflows/deploy.yml': workflow }, 'develop'))
    const run = await runAct({
      callerFiles: {},
      callerDir: dir,
      branch: 'develop',
      workflow: '.github/workflows/deploy.yml',
      event: 'push',
      env: {
        ...fakeTrivyEnv('trivy-image-slmicro-clean-zero-vulns.json'),
        OPS_CACHE_LIB: join(REPO_ROOT, 'node_modules', '@actions', 'cache', 'lib', 'cache.js')
      },
      timeoutMs: 180_000
    })
    // The poisoner did save its entry (the attack is real here), and the scan ran after it.
    expect(run.output).toMatch(/poisoner: saved trivy-db-\w+-\d{4}-\d\d-\d\d: \d+/)
    if (jobResult(run, 'scan') !== 'success') throw new Error(explain(run))
    expect(run.output).not.toMatch(/restored Trivy (vulnerability|Java) DB from cache entry/)
    // The DB the scan used is in RUNNER_TEMP, not in the ~/.cache the gate wrote to.
    const download = run.output.split('\n').find((l) => l.includes('--download-db-only'))
    expect(download).toMatch(/--cache-dir \S*ops-trivy-cache/)
  })
})
