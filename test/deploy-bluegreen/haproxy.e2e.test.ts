import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { existsSync, renameSync } from 'node:fs'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { startApp } from '../../lab/services/app.js'
import type { HaproxyInstance } from '../../lab/services/haproxy.js'
import { haproxyInputs, haproxyLab, slotCounts, type Slots } from './helpers.js'

const errorOf = (r: { annotations: { level: string; message: string }[] }): string =>
  r.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n')

describe('deploy-bluegreen on real HAProxy (bundle, runner protocol)', () => {
  const lab = Lab.create()
  let app: Slots
  let lb: HaproxyInstance

  beforeAll(async () => {
    app = await startApp(lab)
    ;({ haproxy: lb } = await haproxyLab(lab, { app, stateFile: true }))
  })
  afterAll(() => lab.stop())

  beforeEach(async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    await app.blue.control({ errorRate: 0, latencyMs: 0, healthy: true })
    await app.green.control({ errorRate: 0, latencyMs: 0, healthy: true })
  })

  it('deploys to the idle slot: every request through HAProxy lands on green; rollback returns to blue', async () => {
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
    const deploy = await runAction(
      'deploy-bluegreen',
      // about the switch: 20 requests cannot verify 0.1 % (that: verification.e2e.test.ts)
      haproxyInputs(app, [lb.socket], {
        'verify-url': lb.url,
        'verify-duration': '1s',
        'error-judgement': 'point'
      })
    )
    expect(errorOf(deploy)).toBe('')
    expect(deploy.exitCode).toBe(0)
    expect(deploy.outputs).toMatchObject({
      'live-slot': 'green',
      'previous-slot': 'blue',
      switched: 'true',
      'rolled-back': 'false'
    })
    expect(Number(deploy.outputs['switch-ms'])).toBeGreaterThanOrEqual(0)
    expect(deploy.summary).toMatch(/switched to green/)
    expect(deploy.summary).toMatch(/error rate after switch \| 0\.000% \(0\/\d+\)/)
    expect(await slotCounts(lb.url)).toEqual({ green: 20 })

    const rollback = await runAction('deploy-bluegreen', {
      ...haproxyInputs(app, [lb.socket]),
      mode: 'rollback'
    })
    expect(rollback.exitCode).toBe(0)
    expect(rollback.outputs).toMatchObject({
      'live-slot': 'blue',
      'previous-slot': 'green',
      switched: 'true'
    })
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('does not switch when the idle slot is unhealthy, and says traffic is unchanged', async () => {
    await app.green.control({ healthy: false })
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], { 'health-timeout': '1s' })
    )
    expect(r.exitCode).toBe(1)
    expect(errorOf(r)).toMatch(
      /Check failed: slot green is not healthy: 0\/2 consecutive successes .*HTTP 503.*No switch: traffic stays on blue/
    )
    expect(r.outputs.switched).toBe('false')
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('rolls back automatically when errors after the switch exceed the threshold', async () => {
    await app.green.control({ errorRate: 0.2 })
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'verify-url': lb.url,
        'verify-duration': '2s',
        'verify-rate': '25'
      })
    )
    expect(r.exitCode).toBe(1)
    expect(errorOf(r)).toMatch(
      /verification failed after the switch to green: \d+ errors in \d+ requests: error rate ≥ [\d.]+ % at 95 % .*above the 0\.1 % bound.* \(failed requests: HTTP 500 x\d+\)\. Rolled back: blue 100% \/ green 0%/
    )
    expect(r.outputs).toMatchObject({
      'live-slot': 'blue',
      switched: 'true',
      'rolled-back': 'true'
    })
    expect(r.summary).toMatch(/rolled back to blue/)
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('rolls back when p95 after the switch is too slow', async () => {
    await app.green.control({ latencyMs: 300 })
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'verify-url': lb.url,
        'verify-duration': '1s',
        'verify-max-p95': '200ms'
      })
    )
    expect(r.exitCode).toBe(1)
    expect(errorOf(r)).toMatch(
      /p95: 3\d\d ms observed; .*requests ≥ 200 ms in \d+ requests: slow share ≥ [\d.]+ % .*above the 5 % bound.*\. Rolled back/
    )
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('dry-run prints the plan and changes nothing', async () => {
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], { 'dry-run': 'true' })
    )
    expect(r.exitCode).toBe(0)
    expect(r.summary).toMatch(/dry run/)
    expect(r.summary).toMatch(/switch from blue to green/)
    expect(r.outputs.switched).toBe('false')
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('keeps the new slot live across an HAProxy reload when the state file is written', async () => {
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], { 'haproxy-state-file': lb.stateFile! })
    )
    expect(r.exitCode).toBe(0)
    await lb.reload()
    expect(await slotCounts(lb.url)).toEqual({ green: 20 })
    const status = await runAction('deploy-bluegreen', {
      router: 'haproxy',
      mode: 'status',
      'haproxy-socket': lb.socket
    })
    expect(status.outputs['live-slot']).toBe('green')
  })

  it('recognises an interrupted canary: deploy asks for a target, rollback restores the stable slot', async () => {
    await lb.command('set weight app/blue 95; set weight app/green 5')
    const deploy = await runAction('deploy-bluegreen', haproxyInputs(app, [lb.socket]))
    expect(deploy.exitCode).toBe(2)
    expect(errorOf(deploy)).toMatch(
      /target-slot.*is required here: the router is mid-change \(blue 95% \/ green 5%\)/
    )
    const rollback = await runAction('deploy-bluegreen', {
      ...haproxyInputs(app, [lb.socket]),
      mode: 'rollback'
    })
    expect(rollback.exitCode).toBe(0)
    expect(rollback.summary).toMatch(/Recognised/)
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('never interleaves two runs: the second waits for the lock, then fails clearly', async () => {
    // The first run holds the lock through a slow health gate (30 probes: at least 6 s), long
    // enough for the second run to start and give up on a loaded machine too.
    const slow = runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'health-checks': '30',
        'health-interval': '200ms',
        'health-timeout': '60s'
      })
    )
    // Start the second run only once the first holds the lock (its start-up is slow under load).
    const holder = `${lb.socket}.ops-actions.lock/holder.json`
    for (let i = 0; i < 600 && !existsSync(holder); i++) await new Promise((r) => setTimeout(r, 50))
    expect(existsSync(holder)).toBe(true)
    const second = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], { 'lock-timeout': '500ms' })
    )
    expect(second.exitCode).toBe(3)
    expect(errorOf(second)).toMatch(/another run holds the router lock .*changed nothing/)
    const first = await slow
    expect(first.exitCode).toBe(0)
    expect(await slotCounts(lb.url)).toEqual({ green: 20 })
  })

  it('survives SIGKILL mid-run: the router stays valid and the next run takes over the lock at once', async () => {
    let killed = false
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'verify-url': lb.url,
        'verify-duration': '20s',
        'verify-rate': '5'
      }),
      {
        onStart: (child) => {
          child.stdout?.on('data', (d: Buffer) => {
            if (!killed && d.toString().includes('switched: all traffic on green')) {
              killed = true
              child.kill('SIGKILL')
            }
          })
        }
      }
    )
    expect(r.signal).toBe('SIGKILL')
    expect(await slotCounts(lb.url)).toEqual({ green: 20 })
    const rollback = await runAction('deploy-bluegreen', {
      ...haproxyInputs(app, [lb.socket]),
      mode: 'rollback',
      'lock-timeout': '10s'
    })
    expect(rollback.exitCode).toBe(0)
    expect(rollback.stdout).toMatch(/took over the lock .* left by a run that is gone/)
    // At once: it never waited for the dead run's lock (the lock logs any wait; a wall-clock
    // bound on a whole bundle run would measure the machine's load instead).
    expect(rollback.stdout).not.toMatch(/waiting for the router lock/)
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('fails clearly when HAProxy is unreachable, touching nothing', async () => {
    const r = await runAction('deploy-bluegreen', haproxyInputs(app, [`${lab.dir}/missing.sock`]))
    expect(r.exitCode).toBe(3)
    expect(errorOf(r)).toMatch(/Could not run: haproxy .*missing\.sock.*runtime API unreachable/)
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })
})

describe('deploy-bluegreen on a pair of HAProxy instances', () => {
  const lab = Lab.create()
  let app: Slots
  let lb1: HaproxyInstance
  let lb2: HaproxyInstance

  beforeAll(async () => {
    app = await startApp(lab)
    ;({ haproxy: lb1 } = await haproxyLab(lab, { app, name: 'lb1' }))
    ;({ haproxy: lb2 } = await haproxyLab(lab, { app, name: 'lb2', tcpApi: true }))
  })
  afterAll(() => lab.stop())
  beforeEach(async () => {
    for (const lb of [lb1, lb2]) await lb.command('set weight app/blue 100; set weight app/green 0')
  })

  it('switches both together (one over a unix socket, one over the TCP runtime API)', async () => {
    const r = await runAction('deploy-bluegreen', haproxyInputs(app, [lb1.socket, lb2.tcpApi!]))
    expect(r.exitCode).toBe(0)
    expect(await slotCounts(lb1.url)).toEqual({ green: 20 })
    expect(await slotCounts(lb2.url)).toEqual({ green: 20 })
  })

  it('refuses to start when the instances disagree, and says how', async () => {
    await lb2.command('set weight app/blue 0; set weight app/green 100')
    const r = await runAction('deploy-bluegreen', haproxyInputs(app, [lb1.socket, lb2.socket]))
    expect(r.exitCode).toBe(3)
    expect(errorOf(r)).toMatch(
      /disagree[\s\S]*lb1.*blue 100% \/ green 0%[\s\S]*lb2.*blue 0% \/ green 100%/
    )
    expect(await slotCounts(lb1.url)).toEqual({ blue: 20 })
    expect(await slotCounts(lb2.url)).toEqual({ green: 20 })
  })

  it('undoes on both when one fails mid-switch: both stay on the old slot', async () => {
    // The deploy command runs after both were read and locked, before the switch: it takes
    // lb2's runtime API away (HAProxy keeps serving), so the switch fails on lb2 after lb1.
    const away = `${lb2.socket}.away`
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb1.socket, lb2.socket], {
        'deploy-command': JSON.stringify(['mv', lb2.socket, away])
      })
    )
    renameSync(away, lb2.socket)
    expect(r.exitCode).toBe(3)
    expect(errorOf(r)).toMatch(
      /lb2.*runtime API unreachable[\s\S]*undone on every load balancer it reached[\s\S]*lb1.*restored blue 100% \/ green 0%/
    )
    expect(await slotCounts(lb1.url)).toEqual({ blue: 20 })
    expect(await slotCounts(lb2.url)).toEqual({ blue: 20 })
  })
})
