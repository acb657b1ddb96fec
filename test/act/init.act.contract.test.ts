/**
 * `ops-actions init` output run UNCHANGED under act (host mode) against the lab: the deploy and
 * rollback workflows init writes for HAProxy with a self-hosted runner on the load balancer, and
 * for nginx on a VM reached over SSH (real sshd), and for Kubernetes with a kubeconfig secret
 * (the fake Kubernetes API of test/fakes/kube-api.ts). The only changes are what a user makes by
 * hand: the settings file's hostnames/URLs (here the lab's loopback addresses, plus the lab's
 * own socket and nginx paths where a real host has the defaults), the deploy-slot script, and
 * the environment secrets. One act limitation is worked around: act 0.2.89 rejects the
 * `environment.deployment` key (withoutDeploymentKey, as for every other act scenario).
 * Contract test: the GitHub API is the fake one (test/fakes/github-api.ts).
 * Stand-ins reached: actions/checkout (copies the caller repository).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { jobResult, makeCallerRepo, runAct, withoutDeploymentKey } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { startApp } from '../../lab/services/app.js'
import { startHaproxy, type HaproxyInstance } from '../../lab/services/haproxy.js'
import { startNginx, type NginxInstance } from '../../lab/services/nginx.js'
import { startSshd, type SshdInstance } from '../../lab/services/sshd.js'
import { validateInit, type InitOptions } from '../../src/cli/init/options.js'
import { PLACEHOLDER, renderInit } from '../../src/cli/init/render.js'
import { slotCounts } from '../deploy-bluegreen/helpers.js'
import { startFakeGitHubApi, type FakeGitHubApi } from '../fakes/github-api.js'
import {
  deployment,
  service,
  startFakeKubeApi,
  writeKubeconfig,
  type FakeKubeApi
} from '../fakes/kube-api.js'
import { explain, headSha, removeLater, removeTempDirs } from './helpers.js'

type Edits = Record<string, string>

/**
 * init's files with a user's hand edits: `settings` replaces the value of each named key of the
 * settings file (every CHANGE-ME one must be named: none may be left); `deploySlot` is the
 * user's deploy script. Workflows are kept byte for byte (but for act's `deployment` key).
 */
function adopted(o: InitOptions, settings: Edits, deploySlot: string): Record<string, string> {
  const files: Record<string, string> = {}
  for (const f of renderInit(o)) {
    let content = f.content
    if (f.path.startsWith('.github/ops-actions/')) {
      content = content
        .split('\n')
        .map((line) => {
          const m = /^(\s+)([a-z-]+): (.*)$/.exec(line)
          return m && m[2] in settings ? `${m[1]}${m[2]}: ${settings[m[2]]}` : line
        })
        .join('\n')
      // keys the file does not have (it relies on their defaults) go into the shared section
      const absent = Object.keys(settings).filter(
        (k) => !new RegExp(`^\\s+${k}: `, 'm').test(content)
      )
      content = content.replace(
        /^deploy:\n/m,
        `deploy:\n${absent.map((k) => `  ${k}: ${settings[k]}\n`).join('')}`
      )
      expect(content).not.toContain(`: ${PLACEHOLDER}`)
      expect(
        content.split('\n').filter((l) => !l.trim().startsWith('#') && l.includes(PLACEHOLDER))
      ).toEqual([])
    }
    if (f.path.startsWith('.github/workflows/')) content = withoutDeploymentKey(content)
    if (f.path === 'deploy/deploy-slot.sh') content = deploySlot
    files[f.path] = content
  }
  return files
}

/** The user's deploy script: records which slot got which image (a real one would install it). */
const recordingDeploySlot = (log: string): string =>
  `#!/bin/sh\nset -eu\necho "$OPS_MODE $OPS_SLOT $OPS_IMAGE" >> ${log}\n`

describe('init output under act: HAProxy, self-hosted runner on the load balancer', () => {
  const lab = Lab.create()
  let lb: HaproxyInstance
  let api: FakeGitHubApi
  let app: Awaited<ReturnType<typeof startApp>>
  let caller: string
  const o = validateInit({
    org: 'acme',
    service: 'shop',
    router: 'haproxy',
    platform: 'self-hosted-lb',
    registry: 'ghcr',
    build: 'none',
    environments: 'staging'
  })

  beforeAll(async () => {
    app = await startApp(lab)
    lb = await startHaproxy(lab, {
      backend: 'shop',
      servers: [
        { name: 'blue', address: `127.0.0.1:${app.blue.port}`, weight: 100 },
        { name: 'green', address: `127.0.0.1:${app.green.port}`, weight: 0 }
      ]
    })
    api = await startFakeGitHubApi()
  })
  afterAll(async () => {
    await api?.close()
    await lab.stop()
    removeTempDirs()
  })

  it('deploy on push: the idle slot gets this commit, traffic moves, the Deployment is recorded', async () => {
    const installs = lab.path('installs.log')
    caller = removeLater(
      makeCallerRepo(
        adopted(
          o,
          {
            'haproxy-socket': lb.socket,
            'health-url-blue': `${app.blue.url}/healthz`,
            'health-url-green': `${app.green.url}/healthz`,
            'verify-url': lb.url,
            // lab speed only; the defaults work as well
            'verify-duration': '2s',
            // the adoption path is the subject; the interval judgement needs thousands of requests
            // (test/deploy-bluegreen/verification.e2e.test.ts)
            'error-judgement': 'point'
          },
          recordingDeploySlot(installs)
        )
      )
    )
    execFileSync('chmod', ['+x', join(caller, 'deploy/deploy-slot.sh')])
    execFileSync('git', ['commit', '-qam', 'executable'], { cwd: caller })
    const run = await runAct({
      callerDir: caller,
      callerFiles: {},
      workflow: '.github/workflows/ops-deploy-staging.yml',
      event: 'push',
      org: 'acme',
      ref: 'v1',
      apiUrl: api.url,
      token: api.token
    })
    if (jobResult(run, 'release') !== 'success') throw new Error(explain(run))
    expect(await slotCounts(lb.url, 20)).toEqual({ green: 20 })
    expect(readFileSync(installs, 'utf8')).toBe(
      `deploy green ghcr.io/acme/shop:sha-${headSha(caller)}\n`
    )
    const recorded = api.deployments.filter((d) => d.environment === 'staging')
    expect(recorded).toHaveLength(1)
    expect(api.lastState(recorded[0])).toBe('success')
  }, 300_000)

  it('rollback (workflow_dispatch) reads the same settings file: back to blue; status changes nothing', async () => {
    const status = await runAct({
      callerDir: caller,
      callerFiles: {},
      workflow: '.github/workflows/ops-rollback-staging.yml',
      event: 'workflow_dispatch',
      payload: { inputs: { mode: 'status' } },
      org: 'acme',
      ref: 'v1',
      apiUrl: api.url,
      token: api.token
    })
    if (jobResult(status, 'rollback') !== 'success') throw new Error(explain(status))
    expect(await slotCounts(lb.url, 10)).toEqual({ green: 10 })

    const run = await runAct({
      callerDir: caller,
      callerFiles: {},
      workflow: '.github/workflows/ops-rollback-staging.yml',
      event: 'workflow_dispatch',
      payload: { inputs: { mode: 'rollback' } },
      org: 'acme',
      ref: 'v1',
      apiUrl: api.url,
      token: api.token
    })
    if (jobResult(run, 'rollback') !== 'success') throw new Error(explain(run))
    expect(await slotCounts(lb.url, 20)).toEqual({ blue: 20 })
    // the rollback ran no deploy command (it is not in the file the rollback reads)
    expect(readFileSync(lab.path('installs.log'), 'utf8').trim().split('\n')).toHaveLength(1)
  }, 300_000)

  it('a placeholder left in the settings file stops the run before anything changes', async () => {
    const files = renderInit(o).map((f) => [
      f.path,
      f.path.startsWith('.github/workflows/') ? withoutDeploymentKey(f.content) : f.content
    ])
    const run = await runAct({
      callerFiles: Object.fromEntries(files),
      workflow: '.github/workflows/ops-rollback-staging.yml',
      event: 'workflow_dispatch',
      payload: { inputs: { mode: 'rollback' } },
      org: 'acme',
      ref: 'v1',
      apiUrl: api.url,
      token: api.token
    })
    expect(jobResult(run, 'rollback')).toBe('failure')
    expect(run.output + run.log).toMatch(
      /still the placeholder .*CHANGE-ME.* written by ops-actions init/
    )
    expect(await slotCounts(lb.url, 10)).toEqual({ blue: 10 })
  }, 300_000)
})

describe('init output under act: nginx on a VM over SSH (real sshd)', () => {
  const lab = Lab.create()
  let nginx: NginxInstance
  let sshd: SshdInstance
  let api: FakeGitHubApi
  let app: Awaited<ReturnType<typeof startApp>>
  const o = validateInit({
    org: 'acme',
    service: 'shop',
    router: 'nginx',
    platform: 'vm-ssh',
    registry: 'ghcr',
    build: 'none',
    environments: 'production'
  })

  beforeAll(async () => {
    app = await startApp(lab)
    ;[nginx, sshd, api] = await Promise.all([
      startNginx(lab, {
        upstreamName: 'shop',
        upstream: `upstream shop {\n    server 127.0.0.1:${app.blue.port};\n}\n`
      }),
      startSshd(lab),
      startFakeGitHubApi()
    ])
  })
  afterAll(async () => {
    await api?.close()
    await lab.stop()
    removeTempDirs()
  })

  it('deploy then rollback through SSH, with the key and known_hosts as secrets', async () => {
    const installs = lab.path('installs.log')
    const caller = removeLater(
      makeCallerRepo(
        adopted(
          o,
          {
            'ssh-host': `127.0.0.1:${sshd.port}`,
            'ssh-user': sshd.user,
            'nginx-upstream-file': nginx.upstreamFile,
            // a real host has the defaults (`nginx -t`, `nginx -s reload`); the lab's nginx has its own prefix
            'nginx-test-command': `'${JSON.stringify(nginx.testCommand)}'`,
            'nginx-reload-command': `'${JSON.stringify(nginx.reloadCommand)}'`,
            'blue-servers': `127.0.0.1:${app.blue.port}`,
            'green-servers': `127.0.0.1:${app.green.port}`,
            'health-url-blue': `${app.blue.url}/healthz`,
            'health-url-green': `${app.green.url}/healthz`,
            'verify-url': nginx.url,
            'verify-duration': '2s',
            // the adoption path is the subject; the interval judgement needs thousands of requests
            // (test/deploy-bluegreen/verification.e2e.test.ts)
            'error-judgement': 'point'
          },
          recordingDeploySlot(installs)
        )
      )
    )
    execFileSync('chmod', ['+x', join(caller, 'deploy/deploy-slot.sh')])
    execFileSync('git', ['commit', '-qam', 'executable'], { cwd: caller })
    const secrets = { SSH_KEY: sshd.clientKey, SSH_KNOWN_HOSTS: sshd.knownHosts }
    const common = {
      callerDir: caller,
      callerFiles: {},
      org: 'acme',
      ref: 'v1',
      apiUrl: api.url,
      token: api.token,
      secrets
    }
    const deploy = await runAct({
      ...common,
      workflow: '.github/workflows/ops-deploy-production.yml',
      event: 'workflow_dispatch'
    })
    if (jobResult(deploy, 'release') !== 'success') throw new Error(explain(deploy))
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toMatch(
      new RegExp(`server 127\\.0\\.0\\.1:${app.green.port}`)
    )
    expect(readFileSync(installs, 'utf8')).toBe(
      `deploy green ghcr.io/acme/shop:sha-${headSha(caller)}\n`
    )
    // the private key never shows in the log but as a mask request
    for (const line of deploy.log.split('\n').filter((l) => l.includes('PRIVATE KEY-----\\n')))
      expect(JSON.parse(line)).toMatchObject({ command: 'add-mask' })

    const back = await runAct({
      ...common,
      workflow: '.github/workflows/ops-rollback-production.yml',
      event: 'workflow_dispatch',
      payload: { inputs: { mode: 'rollback' } }
    })
    if (jobResult(back, 'rollback') !== 'success') throw new Error(explain(back))
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toMatch(
      new RegExp(`server 127\\.0\\.0\\.1:${app.blue.port}`)
    )
    const recorded = api.deployments.filter((d) => d.environment === 'production')
    expect(recorded.length).toBe(2)
  }, 400_000)
})

describe('init output under act: Kubernetes with a kubeconfig secret (fake Kubernetes API)', () => {
  const lab = Lab.create()
  let kube: FakeKubeApi
  let api: FakeGitHubApi
  let app: Awaited<ReturnType<typeof startApp>>
  const o = validateInit({
    org: 'acme',
    service: 'shop',
    router: 'kubernetes',
    platform: 'kubeconfig',
    registry: 'ghcr',
    build: 'none',
    environments: 'staging'
  })

  beforeAll(async () => {
    app = await startApp(lab)
    ;[kube, api] = await Promise.all([
      startFakeKubeApi({ rolloutDelayMs: 50 }),
      startFakeGitHubApi()
    ])
    const ns = (x: Record<string, unknown>) => ({
      ...x,
      metadata: { ...(x.metadata as object), namespace: 'staging' }
    })
    for (const x of [
      service('shop', { app: 'shop', slot: 'blue' }),
      deployment('blue'),
      deployment('green')
    ])
      kube.put(ns(x))
  })
  afterAll(async () => {
    await Promise.all([kube?.close(), api?.close()])
    await lab.stop()
    removeTempDirs()
  })

  it('deploy sets the image on the idle Deployment and switches the Service; rollback switches back', async () => {
    const caller = removeLater(
      makeCallerRepo(
        adopted(
          o,
          {
            'health-url-blue': `${app.blue.url}/healthz`,
            'health-url-green': `${app.green.url}/healthz`,
            'verify-url': app.green.url,
            'verify-duration': '2s',
            // the adoption path is the subject; the interval judgement needs thousands of requests
            // (test/deploy-bluegreen/verification.e2e.test.ts)
            'error-judgement': 'point'
          },
          ''
        )
      )
    )
    const kubeconfig = readFileSync(writeKubeconfig(kube.url, kube.token), 'utf8')
    const common = {
      callerDir: caller,
      callerFiles: {},
      org: 'acme',
      ref: 'v1',
      apiUrl: api.url,
      token: api.token,
      secrets: { KUBECONFIG: kubeconfig }
    }
    const deploy = await runAct({
      ...common,
      workflow: '.github/workflows/ops-deploy-staging.yml',
      event: 'push'
    })
    if (jobResult(deploy, 'release') !== 'success') throw new Error(explain(deploy))
    const green = kube.get('Deployment', 'shop-green', 'staging') as {
      spec: { template: { spec: { containers: { image: string }[] } } }
    }
    expect(green.spec.template.spec.containers[0].image).toBe(
      `ghcr.io/acme/shop:sha-${headSha(caller)}`
    )
    expect(kube.get('Service', 'shop', 'staging').spec.selector).toEqual({
      app: 'shop',
      slot: 'green'
    })

    const back = await runAct({
      ...common,
      workflow: '.github/workflows/ops-rollback-staging.yml',
      event: 'workflow_dispatch',
      payload: { inputs: { mode: 'rollback' } }
    })
    if (jobResult(back, 'rollback') !== 'success') throw new Error(explain(back))
    expect(kube.get('Service', 'shop', 'staging').spec.selector).toEqual({
      app: 'shop',
      slot: 'blue'
    })
  }, 400_000)
})
