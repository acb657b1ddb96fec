/**
 * rollback.yml's resolve job, its "Check the requested version" `run:` script executed by bash
 * as the runner runs it (`bash --noprofile --norc -eo pipefail`), with the inputs in its env.
 * It is the only check before a version is resolved, scanned and switched to, so it must hold
 * for the whole value (a workflow_dispatch input sent through the API can hold newlines), and it
 * must refuse a version rollback that nothing would install (haproxy/nginx without deploy-command:
 * the switch would send traffic to the idle slot's old release, then record and tag it as the
 * version).
 */
import { describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

const root = new URL('../..', import.meta.url).pathname

interface Step {
  name?: string
  run?: string
  env?: Record<string, string>
}
const workflow = parse(readFileSync(join(root, '.github/workflows/rollback.yml'), 'utf8')) as {
  jobs: Record<string, { steps: Step[] }>
}
const step = workflow.jobs['resolve'].steps.find((s) => s.name === 'Check the requested version')!

interface Inputs {
  version: string
  image?: string
  environment?: string
  router?: string
  'deploy-command'?: string
}

/** Runs the step with each env entry set from the input its `${{ inputs.x }}` names. */
function check(inputs: Inputs) {
  const values: Record<string, string | undefined> = {
    image: 'ghcr.io/acme/shop',
    environment: 'production',
    router: 'haproxy',
    'deploy-command': '/opt/deploy/install-slot',
    ...inputs
  }
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
  for (const [name, expr] of Object.entries(step.env ?? {})) {
    const input = /^\$\{\{ inputs\.([\w-]+) \}\}$/.exec(expr)?.[1]
    if (!input) throw new Error(`env ${name} = ${expr}: not an input`)
    env[name] = values[input] ?? ''
  }
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {
    encoding: 'utf8',
    env
  })
  return { code: r.status, out: r.stdout + r.stderr }
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
