/**
 * The input checks that run before anything is built, resolved or switched: rollback.yml's
 * resolve job ("Check the requested version") and deploy.yml's check-inputs job, each `run:`
 * script executed by bash as the runner runs it (`bash --noprofile --norc -eo pipefail`), with the
 * inputs in its env.
 * - rollback.yml: the check must hold for the whole value (a workflow_dispatch input sent through
 *   the API can hold newlines) and must not echo control characters into a workflow command;
 * - both: off kubernetes, without deploy-command nothing installs the image, and the switch would
 *   send traffic to the idle slot's old release, then record and tag it (and, in deploy.yml, the
 *   Deployment) as the version or commit being released.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'

const root = new URL('../..', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'ops-input-checks-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Step {
  name?: string
  run?: string
  env?: Record<string, string>
}
function stepOf(file: string, job: string, name: string): Step {
  const wf = parse(readFileSync(join(root, '.github/workflows', file), 'utf8')) as {
    jobs: Record<string, { steps: Step[] }>
  }
  return wf.jobs[job].steps.find((s) => s.name === name)!
}

/** Runs the step with each env entry set from the input its `${{ inputs.x }}` names. */
function runStep(step: Step, values: Record<string, string | undefined>) {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GITHUB_OUTPUT: join(dir, 'output')
  }
  for (const [name, expr] of Object.entries(step.env ?? {})) {
    // `${{ inputs.a }}` or `${{ inputs.a || inputs.b }}` (the first non-empty, as GitHub does)
    const body = /^\$\{\{ (inputs\.[\w-]+(?: \|\| inputs\.[\w-]+)*) \}\}$/.exec(expr)?.[1]
    if (!body) throw new Error(`env ${name} = ${expr}: not an input`)
    const names = body.split(' || ').map((part) => part.slice('inputs.'.length))
    env[name] = names.map((n) => values[n] ?? '').find((v) => v !== '') ?? ''
  }
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {
    encoding: 'utf8',
    env
  })
  return { code: r.status, out: r.stdout + r.stderr }
}

const rollbackCheck = stepOf('rollback.yml', 'resolve', 'Check the requested version')
function check(inputs: Record<string, string>) {
  return runStep(rollbackCheck, {
    image: 'ghcr.io/acme/shop',
    environment: 'production',
    router: 'haproxy',
    'deploy-command': '/opt/deploy/install-slot',
    ...inputs
  })
}

describe('rollback.yml: the version check before resolve, scan and switch', () => {
  it('passes a plain tag with a deploy command, and kubernetes without one', () => {
    expect(check({ version: '1.4.2' })).toEqual({ code: 0, out: '' })
    expect(
      check({ version: 'v2.0.0-rc.1_b7', router: 'kubernetes', 'deploy-command': '' })
    ).toEqual({ code: 0, out: '' })
  })

  it.each(['1.0;rm -rf /', '../1.0', 'x'.repeat(129), '-1.0', 'sha256:abcd', '1.0 '])(
    'refuses version %j, naming the input',
    (version) => {
      const r = check({ version })
      expect(r.code).toBe(2)
      expect(r.out).toContain("::error::input version = '")
    }
  )

  it('refuses a version with a newline even when one of its lines is a tag', () => {
    const r = check({ version: '1.4.2\n::warning::injected' })
    expect(r.code).toBe(2)
    // Printed on one line: the value cannot start a workflow command of its own.
    expect(r.out.split('\n').filter((l) => l.startsWith('::'))).toEqual([
      expect.stringMatching(/^::error::input version = '1\.4\.2\?::warning::injected'/)
    ])
  })

  it('refuses an environment that makes no valid image tag', () => {
    const r = check({ version: '1.4.2', environment: 'production eu' })
    expect(r.code).toBe(2)
    expect(r.out).toContain("::error::input environment = 'production eu'")
  })

  it.each(['haproxy', 'nginx'])(
    'refuses a version rollback on %s without deploy-command (nothing installs it)',
    (router) => {
      const r = check({ version: '1.4.2', router, 'deploy-command': '' })
      expect(r.code).toBe(2)
      expect(r.out).toContain(
        `::error::input deploy-command is empty with version = '1.4.2' and router = '${router}'`
      )
    }
  )
})

describe('deploy.yml check-inputs: nothing released that nothing installed', () => {
  const step = stepOf('deploy.yml', 'check-inputs', 'Check strategy and environment')
  const deploy = (inputs: Record<string, string>) =>
    runStep(step, {
      strategy: 'bluegreen',
      environment: 'staging',
      router: 'haproxy',
      'deploy-command': '/opt/deploy/install-slot',
      'dry-run': 'false',
      ...inputs
    })

  it('passes haproxy and nginx with a deploy command, kubernetes and a dry run without', () => {
    expect(deploy({}).code).toBe(0)
    expect(deploy({ router: 'nginx' }).code).toBe(0)
    expect(deploy({ router: 'kubernetes', 'deploy-command': '' }).code).toBe(0)
    expect(deploy({ 'deploy-command': '', 'dry-run': 'true' }).code).toBe(0)
  })

  it('refuses an environment that makes no valid image tag, before anything is built', () => {
    const r = deploy({ environment: 'staging eu' })
    expect(r.code).toBe(2)
    expect(r.out).toContain("::error::input environment = 'staging eu'")
  })

  it.each(['haproxy', 'nginx'])('refuses router %s without deploy-command', (router) => {
    for (const strategy of ['bluegreen', 'canary']) {
      const r = deploy({ router, strategy, 'deploy-command': '' })
      expect(r.code).toBe(2)
      expect(r.out).toContain(`::error::input deploy-command is empty with router = '${router}'`)
    }
  })
})
