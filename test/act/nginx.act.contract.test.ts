/**
 * Scenario 7 (nginx): the rollback template's "release a given version" path under act on a real
 * nginx: the nginx inputs the reusable workflows did not have before (blue-servers,
 * green-servers, nginx-test-command, nginx-reload-command) flow through to deploy-bluegreen,
 * which rewrites the upstream include and reloads nginx. Stand-ins: none reached.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { jobResult, runAct } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { startApp } from '../../lab/services/app.js'
import { startNginx, type NginxInstance } from '../../lab/services/nginx.js'
import { settledSlotCounts } from '../../lab/slots.js'
import { startFakeGitHubApi, type FakeGitHubApi } from '../fakes/github-api.js'
import { explain, templateCaller } from './helpers.js'

// Each act run has its own limit (runAct's default, 240 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(300_000)

describe('rollback template to a version under act, on nginx', () => {
  const lab = Lab.create()
  let nginx: NginxInstance
  let api: FakeGitHubApi
  let app: Awaited<ReturnType<typeof startApp>>

  beforeAll(async () => {
    app = await startApp(lab)
    nginx = await startNginx(lab, {
      upstream: `upstream app {\n    server 127.0.0.1:${app.blue.port};\n}\n`
    })
    api = await startFakeGitHubApi()
  })
  afterAll(async () => {
    await api.close()
    await lab.stop()
  })

  it('installs image:version into the idle slot and switches nginx to it', async () => {
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
      vars: { IMAGE: '127.0.0.1:5000/shop' },
      apiUrl: api.url,
      token: api.token
    })
    if (jobResult(run, 'rollback') !== 'success') throw new Error(explain(run))
    expect(readFileSync(installs, 'utf8').trim()).toBe('green 127.0.0.1:5000/shop:1.4.2')
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toMatch(/blue=0 green=100 previous=blue/)
    // Old workers may answer for a moment after the reload (longer on a loaded machine): wait,
    // bounded, for 10 fresh-connection answers in a row from green.
    expect(await settledSlotCounts(nginx.url, 'green', { n: 10 })).toEqual({ green: 10 })
  })
})
