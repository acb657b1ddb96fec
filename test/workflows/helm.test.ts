/**
 * deploy.yml's Helm path (`helm-chart`), offline: the shell of its steps run with bash and a fake
 * helm that records its arguments. The run against the real API server and the real Helm is
 * test/act/kubernetes-helm.act.test.ts; this pins what that run cannot see (act ignores
 * permissions and the lock order is the action's) and the refusals of bad inputs.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'

const root = new URL('../..', import.meta.url).pathname

interface Step {
  id?: string
  name?: string
  if?: string
  uses?: string
  run?: string
  env?: Record<string, string>
  with?: Record<string, string>
}
interface Workflow {
  jobs: Record<string, { steps?: Step[] }>
}

const deploy = parse(readFileSync(join(root, '.github/workflows/deploy.yml'), 'utf8')) as Workflow
const step = (job: string, id: string): Step => {
  const s = deploy.jobs[job].steps?.find((x) => x.id === id)
  if (!s) throw new Error(`no step ${job}.${id}`)
  return s
}
const dirs: string[] = []
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'ops-helm-wf-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function bash(script: string, env: Record<string, string>) {
  const out = temp()
  const r = spawnSync('bash', ['-e', '-c', script], {
    env: { PATH: process.env.PATH ?? '', GITHUB_OUTPUT: join(out, 'out'), ...env },
    encoding: 'utf8'
  })
  let outputs = ''
  try {
    outputs = readFileSync(join(out, 'out'), 'utf8')
  } catch {
    // no output written
  }
  return { code: r.status, stdout: r.stdout, outputs }
}

const CHECK_ENV = {
  STRATEGY: 'bluegreen',
  ENVIRONMENT: 'staging',
  PROMOTE_FROM: '',
  OCI_LAYOUT: '',
  ARTIFACT: 'a',
  ROUTER: 'kubernetes',
  HELM_CHART: 'charts/shop',
  HELM_RELEASE: 'shop',
  HELM_VALUES: '',
  HELM_TIMEOUT: '5m',
  HELM_PATH: ''
}

describe('deploy.yml Helm path', () => {
  it('check-inputs accepts a chart directory or an oci:// chart', () => {
    const run = step('check-inputs', 'check').run!
    expect(bash(run, CHECK_ENV).code).toBe(0)
    expect(bash(run, { ...CHECK_ENV, HELM_CHART: 'oci://ghcr.io/acme/charts/shop' }).code).toBe(0)
    expect(
      bash(run, { ...CHECK_ENV, HELM_TIMEOUT: '1m30s', HELM_VALUES: 'deploy/v.yaml' }).code
    ).toBe(0)
  })

  it.each([
    [{ ROUTER: 'haproxy' }, "helm-chart = 'charts/shop' with router = 'haproxy'"],
    [
      { STRATEGY: 'canary' },
      "strategy = 'canary': the Helm path is router kubernetes, strategy bluegreen"
    ],
    [{ HELM_CHART: '../other/chart' }, "helm-chart = '../other/chart': expected a chart directory"],
    [{ HELM_CHART: '/etc/chart' }, "helm-chart = '/etc/chart': expected a chart directory"],
    [{ HELM_CHART: '--post-renderer=x' }, "helm-chart = '--post-renderer=x'"],
    [{ HELM_CHART: 'oci://x/$(id)' }, "helm-chart = 'oci://x/$(id)': expected an oci:// reference"],
    [{ HELM_VALUES: 'a/../../v.yaml' }, "helm-values = 'a/../../v.yaml'"],
    [{ HELM_RELEASE: 'Shop_1' }, "helm-release (or app) = 'Shop_1'"],
    [{ HELM_RELEASE: '' }, "helm-release (or app) = ''"],
    [{ HELM_TIMEOUT: '5 minutes' }, "helm-timeout = '5 minutes': expected a Go duration"],
    [{ HELM_PATH: 'bin/helm' }, "helm-path = 'bin/helm': expected an absolute path"]
  ])('check-inputs refuses %j', (bad, message) => {
    const r = bash(step('check-inputs', 'check').run!, { ...CHECK_ENV, ...bad })
    expect(r.code).toBe(2)
    expect(r.stdout).toContain(message)
  })

  it('the upgrade is the switch’s deploy-command, into the slot read before, with no router image', () => {
    const sw = step('release', 'bluegreen')
    expect(sw.with?.['deploy-command']).toBe(
      "${{ inputs.helm-chart != '' && steps.helm-upgrade.outputs.command || inputs.deploy-command }}"
    )
    expect(sw.with?.['target-slot']).toBe('${{ steps.helm-upgrade.outputs.slot }}')
    expect(sw.with?.image).toContain("inputs.helm-chart == ''")
    const live = step('release', 'helm-live')
    expect(live.with).toMatchObject({ mode: 'status', router: 'kubernetes' })
    const ids = (deploy.jobs.release.steps ?? []).map((s) => s.id)
    expect(ids.indexOf('helm-live')).toBeLessThan(ids.indexOf('helm-upgrade'))
    expect(ids.indexOf('helm-upgrade')).toBeLessThan(ids.indexOf('bluegreen'))
    // No step runs helm itself: only the deploy-command, under the router lock.
    for (const s of deploy.jobs.release.steps ?? []) {
      if (s.id === 'helm-upgrade') continue
      expect(s.run ?? '').not.toMatch(/helm.*upgrade/)
    }
  })

  it('downloads the pinned Helm only when it matches its SHA-256', () => {
    const run = step('release', 'helm').run!
    expect(run).toContain('https://get.helm.sh/helm-v3.22.0-linux-$arch.tar.gz')
    expect(run).toContain('1e4ab49e429626cf6c6958d914248b78c9730803c2751b87627e171dc800e7bb')
    expect(run).toMatch(/sha256sum -c[^\n]*\n[^\n]*exit 1/)
    const ok = bash(run, { HELM_PATH: '/nonexistent/helm', RUNNER_TEMP: temp() })
    expect(ok.code).toBe(2)
    expect(ok.stdout).toContain("input helm-path = '/nonexistent/helm': not an executable file")
  })

  /** Writes the upgrade script (the helm-upgrade step) and runs it with a fake helm. */
  function upgrade(helmExit: number, env: Record<string, string> = {}) {
    const runnerTemp = temp()
    const prep = bash(step('release', 'helm-upgrade').run!, {
      LIVE: 'blue',
      RUNNER_TEMP: runnerTemp
    })
    expect(prep.code).toBe(0)
    const args = join(runnerTemp, 'helm-args')
    const fake = join(runnerTemp, 'fake-helm')
    writeFileSync(
      fake,
      `#!/bin/sh\nfor a in "$@"; do echo "$a"; done > "${args}"\nexit ${helmExit}\n`
    )
    chmodSync(fake, 0o755)
    const command = JSON.parse(/command=(.*)/.exec(prep.outputs)![1]) as string[]
    const r = spawnSync(command[0], command.slice(1), {
      env: {
        PATH: process.env.PATH ?? '',
        RUNNER_TEMP: runnerTemp,
        GITHUB_WORKSPACE: '/ws',
        OPS_SLOT: 'green',
        OPS_IMAGE: `127.0.0.1:5000/shop@sha256:${'a'.repeat(64)}`,
        OPS_HELM: fake,
        OPS_HELM_SLOT: /slot=(.*)/.exec(prep.outputs)![1],
        OPS_HELM_LIVE: 'blue',
        OPS_HELM_CHART: 'charts/shop',
        OPS_HELM_CHART_VERSION: '',
        OPS_HELM_RELEASE: 'shop',
        OPS_HELM_VALUES: 'deploy/v.yaml',
        OPS_HELM_TIMEOUT: '90s',
        OPS_NAMESPACE: 'staging',
        OPS_KUBECONFIG: '/tmp/kc',
        OPS_KUBE_CONTEXT: '',
        ...env
      },
      encoding: 'utf8'
    })
    let argv: string[] = []
    try {
      argv = readFileSync(args, 'utf8').trim().split('\n')
    } catch {
      // helm not run
    }
    return { code: r.status, stdout: r.stdout, argv, outputs: prep.outputs }
  }

  it('runs helm upgrade of the idle slot with the digest as an argument array', () => {
    const r = upgrade(0)
    expect(r.outputs).toContain('slot=green')
    expect(r.code).toBe(0)
    expect(r.argv).toEqual([
      'upgrade',
      'shop',
      '/ws/charts/shop',
      '--namespace',
      'staging',
      '--reset-then-reuse-values',
      '--values',
      '/ws/deploy/v.yaml',
      '--set-string',
      'green.image.repository=127.0.0.1:5000/shop',
      '--set-string',
      `green.image.digest=sha256:${'a'.repeat(64)}`,
      '--wait',
      '--timeout',
      '90s'
    ])
  })

  it('a failed upgrade exits non-zero saying traffic stays on the live slot', () => {
    const r = upgrade(1)
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      /::error::helm upgrade of release shop, slot green .* not ready within 90s: no switch, traffic stays on blue/
    )
  })

  it.each([
    [{ OPS_SLOT: 'blue' }, 'the switch chose slot blue, the Helm path read green as idle'],
    [
      { OPS_IMAGE: '127.0.0.1:5000/shop:latest' },
      "image '127.0.0.1:5000/shop:latest': expected name@sha256"
    ]
  ])('runs no helm for %j', (env, message) => {
    const r = upgrade(0, env)
    expect(r.code).toBe(1)
    expect(r.argv).toEqual([])
    expect(r.stdout).toContain(message)
  })

  it('stops before the switch when the router reports no live slot', () => {
    const r = bash(step('release', 'helm-upgrade').run!, { LIVE: '', RUNNER_TEMP: temp() })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(
      "the router reports no live slot (''): nothing upgraded, nothing switched"
    )
  })
})
