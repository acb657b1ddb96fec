import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { startApp } from '../../lab/services/app.js'
import type { HaproxyInstance } from '../../lab/services/haproxy.js'
import { runCli } from '../../src/cli/main.js'
import { haproxyLab, slotCounts, type Slots } from '../deploy-bluegreen/helpers.js'

const errorOf = (r: { annotations: { level: string; message: string }[] }): string =>
  r.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n')

/** A workspace holding a committed settings file, as actions/checkout leaves it. */
function workspace(settings: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ops-settings-'))
  mkdirSync(join(dir, '.github/ops-actions'), { recursive: true })
  writeFileSync(join(dir, '.github/ops-actions/production.yml'), settings)
  return dir
}

const FILE = '.github/ops-actions/production.yml'

describe('settings file read by the deploy-bluegreen bundle on real HAProxy', () => {
  const lab = Lab.create()
  let app: Slots
  let lb: HaproxyInstance
  let settings: string

  beforeAll(async () => {
    app = await startApp(lab)
    ;({ haproxy: lb } = await haproxyLab(lab, { app }))
    settings = [
      '# committed once per environment; deploy and rollback read the same router settings',
      'deploy:',
      '  router: haproxy',
      `  haproxy-socket: ${lb.socket}`,
      '  haproxy-backend: app',
      `  health-url-blue: ${app.blue.url}/healthz`,
      `  health-url-green: ${app.green.url}/healthz`,
      '  health-checks: 2',
      '  health-interval: 100ms',
      '  health-timeout: 3s',
      'deploy-bluegreen:',
      `  verify-url: ${lb.url}`,
      '  verify-duration: 1s',
      // the settings path is the subject; the interval rule needs thousands of requests
      // (test/deploy-bluegreen/verification.e2e.test.ts)
      '  error-judgement: point',
      ''
    ].join('\n')
  })
  afterAll(() => lab.stop())
  beforeEach(async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    await app.green.control({ healthy: true })
  })

  it('deploys and rolls back with nothing but the settings file (and the mode)', async () => {
    const cwd = workspace(settings)
    const deploy = await runAction('deploy-bluegreen', { 'settings-file': FILE }, { cwd })
    expect(errorOf(deploy)).toBe('')
    expect(deploy.outputs).toMatchObject({ 'live-slot': 'green', switched: 'true' })
    expect(deploy.summary).toMatch(/error rate after switch/)
    expect(await slotCounts(lb.url)).toEqual({ green: 20 })

    const rollback = await runAction(
      'deploy-bluegreen',
      { 'settings-file': FILE, mode: 'rollback' },
      { cwd }
    )
    expect(errorOf(rollback)).toBe('')
    expect(rollback.outputs).toMatchObject({ 'live-slot': 'blue', 'previous-slot': 'green' })
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('an explicit input overrides the file: a wrong socket in the file is never used', async () => {
    const cwd = workspace(settings.replace(lb.socket, '/nonexistent/haproxy.sock'))
    const status = await runAction(
      'deploy-bluegreen',
      { 'settings-file': FILE, mode: 'status', 'haproxy-socket': lb.socket },
      { cwd }
    )
    expect(errorOf(status)).toBe('')
    expect(status.outputs['live-slot']).toBe('blue')
    // and without the override, the file's (wrong) socket is the one used
    const fromFile = await runAction(
      'deploy-bluegreen',
      { 'settings-file': FILE, mode: 'status' },
      { cwd }
    )
    expect(fromFile.exitCode).toBe(3)
    expect(errorOf(fromFile)).toMatch(/nonexistent\/haproxy\.sock/)
  })

  it('the file beats an action.yml default (health-checks 3 -> 2 is the file; 50 from the file fails the gate)', async () => {
    await app.green.control({ healthy: false })
    const cwd = workspace(settings.replace('health-timeout: 3s', 'health-timeout: 1s'))
    const r = await runAction('deploy-bluegreen', { 'settings-file': FILE }, { cwd })
    expect(r.exitCode).toBe(1)
    // "0/2": the file's health-checks, not the action.yml default 3
    expect(errorOf(r)).toMatch(/slot green is not healthy: 0\/2 consecutive successes/)
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('a bad value in the file is refused by the same parser, naming the file and key; nothing changes', async () => {
    const cwd = workspace(settings.replace('health-interval: 100ms', 'health-interval: soon'))
    const r = await runAction('deploy-bluegreen', { 'settings-file': FILE }, { cwd })
    expect(r.exitCode).toBe(2)
    expect(errorOf(r)).toMatch(
      /Configuration error: input `health-interval` \(from \.github\/ops-actions\/production\.yml, key deploy\.health-interval\) = `soon`: expected a duration/
    )
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('a secret in the file is refused before anything is touched', async () => {
    const cwd = workspace(`${settings}  github-token: ghp_notasecret\n`)
    const r = await runAction('deploy-bluegreen', { 'settings-file': FILE }, { cwd })
    expect(r.exitCode).toBe(2)
    expect(errorOf(r)).toMatch(
      /key deploy-bluegreen\.github-token: a secret never goes in a committed file/
    )
  })

  it('canary-promote reads the same shared section (status)', async () => {
    const cwd = workspace(settings)
    const r = await runAction('canary-promote', { 'settings-file': FILE, mode: 'status' }, { cwd })
    expect(errorOf(r)).toBe('')
    expect(r.exitCode).toBe(0)
    expect(r.summary).toMatch(/blue 100% \/ green 0%/)
  })

  it('the CLI reads the same file: flags beat it, it beats action.yml defaults', async () => {
    const cwd = workspace(settings.replace(lb.socket, '/nonexistent/haproxy.sock'))
    const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
      let out = ''
      let err = ''
      const code = await runCli(
        ['deploy-bluegreen', '--settings-file', join(cwd, FILE), '--mode', 'status', ...argv],
        {},
        { out: (t) => void (out += t), err: (t) => void (err += t) }
      )
      return { code, out, err }
    }
    const wrong = await run()
    expect(wrong.code).toBe(3)
    expect(wrong.err).toMatch(/nonexistent\/haproxy\.sock/)
    const right = await run('--haproxy-socket', lb.socket)
    expect(right.err).toBe('')
    expect(right.out).toMatch(/live-slot=blue/)
  })
})
