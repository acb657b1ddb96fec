/**
 * The inputs users need reach the actions through the reusable workflows (scenario 7's "at
 * least the inputs must flow" for the routers act cannot reach here, e.g. Kubernetes), and
 * credentials go where they belong: the kubeconfig as a file path, never its contents.
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

const root = new URL('../..', import.meta.url).pathname

interface Step {
  id?: string
  uses?: string
  run?: string
  with?: Record<string, string>
}
interface Workflow {
  on: { workflow_call: { inputs: Record<string, unknown>; secrets?: Record<string, unknown> } }
  jobs: Record<string, { steps?: Step[] }>
}

const load = (file: string): Workflow =>
  parse(readFileSync(join(root, '.github/workflows', file), 'utf8')) as Workflow

function stepUsing(w: Workflow, action: string, id?: string): Step {
  const steps = Object.values(w.jobs).flatMap((j) => j.steps ?? [])
  const step = steps.find((s) => s.uses?.includes(`/actions/${action}@`) && (!id || s.id === id))
  if (!step) throw new Error(`no step uses ${action}`)
  return step
}

const ROUTER_INPUTS = [
  'haproxy-state-file',
  'blue-servers',
  'green-servers',
  'nginx-test-command',
  'nginx-reload-command',
  'slot-label',
  'container',
  'rollout-timeout'
]

describe('inputs flow through the reusable workflows', () => {
  it.each([
    ['deploy.yml', 'deploy-bluegreen', 'bluegreen', ROUTER_INPUTS],
    [
      'deploy.yml',
      'canary-promote',
      'canary',
      [
        ...ROUTER_INPUTS,
        'httproute',
        'canary-ingress',
        'min-requests',
        'canary-selector',
        'stable-selector',
        'request-count-query',
        'error-rate-query',
        'latency-query'
      ]
    ],
    ['rollback.yml', 'deploy-bluegreen', 'previous', [...ROUTER_INPUTS, 'httproute']],
    ['rollback.yml', 'deploy-bluegreen', 'version', [...ROUTER_INPUTS, 'httproute']]
  ])('%s -> %s (%s)', (file, action, id, names) => {
    const w = load(file)
    const step = stepUsing(w, action, id)
    for (const name of names) {
      expect([name, Object.keys(w.on.workflow_call.inputs)]).toEqual([
        name,
        expect.arrayContaining([name])
      ])
      expect([name, step.with?.[name]]).toEqual([name, `\${{ inputs.${name} }}`])
    }
  })

  // A canary holds the router lock for all its steps; the action's 2m default made a manual
  // rollback started during any canary fail instead of waiting (act: test/act, HAProxy lock held).
  it('a rollback waits for a whole release holding the router lock, within its own timeout', () => {
    const minutes = (d: string) => Number(/^(\d+)m$/.exec(d)?.[1] ?? NaN)
    const rollback = parse(readFileSync(join(root, '.github/workflows/rollback.yml'), 'utf8')) as {
      on: { workflow_call: { inputs: Record<string, { default?: string }> } }
      jobs: Record<string, { 'timeout-minutes': number; steps: Step[] }>
    }
    const deploy = parse(readFileSync(join(root, '.github/workflows/deploy.yml'), 'utf8')) as {
      jobs: Record<string, { 'timeout-minutes': number }>
    }
    const wait = minutes(rollback.on.workflow_call.inputs['lock-timeout'].default ?? '')
    expect(wait).toBeGreaterThan(deploy.jobs.release['timeout-minutes'])
    expect(rollback.jobs.rollback['timeout-minutes']).toBeGreaterThanOrEqual(wait + 15)
    for (const id of ['previous', 'version']) {
      expect(stepUsing(load('rollback.yml'), 'deploy-bluegreen', id).with?.['lock-timeout']).toBe(
        '${{ inputs.lock-timeout }}'
      )
    }
  })

  it('build-gate gets working-directory', () => {
    expect(stepUsing(load('deploy.yml'), 'build-gate').with?.['working-directory']).toBe(
      '${{ inputs.working-directory }}'
    )
  })

  it.each(['deploy.yml', 'rollback.yml'])(
    '%s passes the kubeconfig as a file in RUNNER_TEMP, never its contents',
    (file) => {
      const text = readFileSync(join(root, '.github/workflows', file), 'utf8')
      expect(text).not.toMatch(/kubeconfig: \$\{\{ secrets\./i)
      const w = load(file)
      const writer = Object.values(w.jobs)
        .flatMap((j) => j.steps ?? [])
        .find((s) => s.id === 'kube')
      expect(writer?.run).toContain('$RUNNER_TEMP')
      expect(writer?.run).toContain('umask 077')
      for (const s of Object.values(w.jobs).flatMap((j) => j.steps ?? [])) {
        if (s.with?.kubeconfig !== undefined)
          expect(s.with.kubeconfig).toBe('${{ steps.kube.outputs.path }}')
      }
    }
  )

  it('production promotes the image built for this commit, not what :staging points at', () => {
    const step = stepUsing(load('deploy.yml'), 'image-push', 'copy')
    expect(step.with?.source).toBe('${{ inputs.image }}:sha-${{ github.sha }}')
    expect(stepUsing(load('deploy.yml'), 'image-push', 'push').with?.tags).toContain(
      'sha-${{ github.sha }}'
    )
  })

  it('the job that runs the caller’s build and tests gets no write scope', () => {
    const w = parse(readFileSync(join(root, '.github/workflows/deploy.yml'), 'utf8')) as {
      jobs: Record<string, { permissions: Record<string, string>; steps: Step[] }>
    }
    const gate = Object.entries(w.jobs).find(([, j]) =>
      j.steps?.some((s) => s.uses?.includes('/actions/build-gate@'))
    )
    expect(gate?.[1].permissions).toEqual({ contents: 'read' })
  })

  it('backup.yml has a runner input, no static cloud keys and no age check', () => {
    const text = readFileSync(join(root, '.github/workflows/backup.yml'), 'utf8')
    const w = load('backup.yml')
    expect(Object.keys(w.on.workflow_call.inputs)).toEqual(
      expect.arrayContaining(['runner', 'aws-role-to-assume'])
    )
    expect(text).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|max-age/)
  })
})

describe('release.yml', () => {
  const text = readFileSync(join(root, '.github/workflows/release.yml'), 'utf8')
  const w = parse(text) as {
    concurrency?: { group: string; 'cancel-in-progress': boolean }
    jobs: Record<string, { steps: Step[] }>
  }

  it('runs one release at a time, never cancelling one (vX must not move backwards)', () => {
    expect(w.concurrency?.['cancel-in-progress']).toBe(false)
    expect(w.concurrency?.group).toBeTruthy()
  })

  // Same command as CI (.ci/run: engines built from their Go modules on every hosted runner, then
  // the whole suite); with CI's budget raised to 90 and the release left at 30, every release
  // was killed before it could move vX.
  it('gives the verify job the time CI needs for the same .ci/run', () => {
    const ci = parse(readFileSync(join(root, '.github/workflows/ci.yml'), 'utf8')) as {
      jobs: Record<string, { 'timeout-minutes': number; steps: Step[] }>
    }
    const runsCi = (j: { steps: Step[] }) => j.steps.some((s) => s.run === 'bash .ci/run')
    const verify = (w.jobs as Record<string, { 'timeout-minutes': number; steps: Step[] }>).verify
    expect(runsCi(verify) && runsCi(ci.jobs.test)).toBe(true)
    expect(verify['timeout-minutes']).toBeGreaterThanOrEqual(ci.jobs.test['timeout-minutes'])
  })

  it('moves vX only for a commit on main, and only forwards', () => {
    const move = w.jobs['move-major-tag'].steps.map((s) => s.run ?? '').join('\n')
    expect(move).toMatch(/compare\/main\.\.\.\$SHA/)
    expect(move).toMatch(/identical\|behind/)
    expect(move).toMatch(/sort -V/)
    // The checks come before the ref is changed.
    expect(move.indexOf('compare/main')).toBeLessThan(move.indexOf('-X PATCH'))
    expect(move.indexOf('sort -V')).toBeLessThan(move.indexOf('-X PATCH'))
  })
})
