/**
 * Scenario 7 (nginx): the rollback template's "release a given version" path under act on a real
 * nginx: the nginx inputs the reusable workflows did not have before (blue-servers,
 * green-servers, nginx-test-command, nginx-reload-command) flow through to deploy-bluegreen,
 * which rewrites the upstream include and reloads nginx. The version is resolved to its digest in
 * the lab registry and scanned (fake trivy) first; the slot gets the digest, and the environment
 * tag is read back from the include file. Stand-ins: none reached.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { jobResult, runAct } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { startApp } from '../../lab/services/app.js'
import { startNginx, type NginxInstance } from '../../lab/services/nginx.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { settledSlotCounts } from '../../lab/slots.js'
import { startFakeGitHubApi, type FakeGitHubApi } from '../fakes/github-api.js'
import { pushImage } from '../image-push/upload.js'
import { explain, fakeTrivyEnv, fakeTrivyPath, removeTempDirs, templateCaller } from './helpers.js'

// Each act run has its own limit (runAct's default, 240 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(300_000)

describe('rollback template to a version under act, on nginx', () => {
  const lab = Lab.create()
  let nginx: NginxInstance
  let api: FakeGitHubApi
  let registry: Registry
  let app: Awaited<ReturnType<typeof startApp>>

  beforeAll(async () => {
    app = await startApp(lab)
    nginx = await startNginx(lab, {
      upstream: `upstream app {\n    server 127.0.0.1:${app.blue.port};\n}\n`
    })
    ;[api, registry] = await Promise.all([startFakeGitHubApi(), startRegistry(lab)])
  })
  afterAll(async () => {
    await api.close()
    await lab.stop()
    removeTempDirs()
  })

  it('installs the digest of image:version into the idle slot and switches nginx to it', async () => {
    const v = await pushImage({ url: registry.url }, 'shop', '1.4.2', {
      layers: 1,
      layerBytes: 512
    })
    const installs = lab.path('installs.log')
    const deployCommand = lab.path('install-slot')
    writeFileSync(deployCommand, `#!/bin/sh\necho "$OPS_SLOT $OPS_IMAGE" >> "${installs}"\n`)
    chmodSync(deployCommand, 0o755)
    const run = await runAct({
      callerFiles: {
        '.github/workflows/rollback.yml': templateCaller('rollback', {
          router: 'nginx',
          'nginx-upstream-file': nginx.upstreamFile,
          'blue-servers': `127.0.0.1:${app.blue.port}`,
          'green-servers': `127.0.0.1:${app.green.port}`,
          'nginx-test-command': JSON.stringify(nginx.testCommand),
          'nginx-reload-command': JSON.stringify(nginx.reloadCommand),
          'deploy-command': deployCommand,
          'trivy-path': fakeTrivyPath(),
          'health-url-blue': `${app.blue.url}/healthz`,
          'health-url-green': `${app.green.url}/healthz`,
          namespace: undefined,
          service: undefined,
          app: undefined
        })
      },
      workflow: '.github/workflows/rollback.yml',
      event: 'workflow_dispatch',
      payload: { inputs: { environment: 'staging', target: '1.4.2', 'dry-run': 'false' } },
      vars: { IMAGE: `${registry.host}/shop` },
      apiUrl: api.url,
      token: api.token,
      env: fakeTrivyEnv('trivy-image-slmicro-clean-zero-vulns.json')
    })
    if (jobResult(run, 'rollback') !== 'success') throw new Error(explain(run))
    expect(readFileSync(installs, 'utf8').trim()).toBe(`green ${registry.host}/shop@${v.digest}`)
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toMatch(/blue=0 green=100 previous=blue/)
    // Old workers may answer for a moment after the reload (longer on a loaded machine): wait,
    // bounded, for 10 fresh-connection answers in a row from green.
    expect(await settledSlotCounts(nginx.url, 'green', { n: 10 })).toEqual({ green: 10 })
    const tagged = await fetch(`${registry.url}/v2/shop/manifests/staging`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' }
    })
    expect(tagged.headers.get('docker-content-digest')).toBe(v.digest)
  })
})
