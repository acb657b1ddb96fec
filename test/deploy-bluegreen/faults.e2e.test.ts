import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { chmodSync, chownSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { startApp } from '../../lab/services/app.js'
import type { HaproxyInstance } from '../../lab/services/haproxy.js'
import { startNginx, type NginxInstance } from '../../lab/services/nginx.js'
import { parseUpstream } from '../../src/traffic/nginx.js'
import { haproxyInputs, haproxyLab, settledSlotCounts, slotCounts, type Slots } from './helpers.js'

const messages = (
  r: { annotations: { level: string; message: string }[] },
  level: string
): string =>
  r.annotations
    .filter((a) => a.level === level)
    .map((a) => a.message)
    .join('\n')

describe('deploy-bluegreen under faults, on real HAProxy (bundle, runner protocol)', () => {
  const lab = Lab.create()
  let app: Slots
  let lb: HaproxyInstance

  beforeAll(async () => {
    app = await startApp(lab)
    ;({ haproxy: lb } = await haproxyLab(lab, { app, stateFile: true }))
  })
  afterAll(() => lab.stop())
  beforeEach(async () => {
    await lb.command(
      'experimental-mode on; set var proc.opsactions_previous str(green); set weight app/blue 100; set weight app/green 0; set server app/green health up; set server app/blue health up'
    )
    await app.blue.control({ errorRate: 0, latencyMs: 0, healthy: true })
    await app.green.control({ errorRate: 0, latencyMs: 0, healthy: true })
  })

  it('refuses a rollback into a slot HAProxy has marked down (srv_op_state 0), traffic stays', async () => {
    await lb.command('set server app/green health down')
    const r = await runAction('deploy-bluegreen', {
      router: 'haproxy',
      'haproxy-socket': lb.socket,
      mode: 'rollback'
    })
    expect(r.exitCode).toBe(1)
    expect(messages(r, 'error')).toMatch(
      /slot green is down according to the router .*srv_op_state 0/
    )
    expect(r.outputs).toMatchObject({ switched: 'false', 'live-slot': 'blue' })
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('runs the health gate before a rollback by default: an unhealthy target is refused', async () => {
    await app.green.control({ healthy: false })
    const r = await runAction('deploy-bluegreen', {
      ...haproxyInputs(app, [lb.socket], { 'health-timeout': '1s' }),
      mode: 'rollback'
    })
    expect(r.exitCode).toBe(1)
    expect(messages(r, 'error')).toMatch(/slot green is not healthy: .*HTTP 503/)
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('a state file that cannot be written is a warning: traffic moved, verified, reported as moved', async () => {
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'haproxy-state-file': `${lab.mkdir('ro')}/missing-dir/server-state`,
        'verify-url': lb.url,
        'verify-duration': '1s',
        // about the state file: 20 requests cannot verify 0.1 %
        'error-judgement': 'point'
      })
    )
    expect(messages(r, 'error')).toBe('')
    expect(r.exitCode).toBe(0)
    expect(messages(r, 'warning')).toMatch(/traffic moved .*state file could not be written/)
    expect(r.outputs).toMatchObject({ switched: 'true', 'live-slot': 'green' })
    expect(r.summary).toMatch(/error rate after switch/)
    expect(await slotCounts(lb.url)).toEqual({ green: 20 })
  })

  it('a rollback whose verification fails is reported, never reversed to the release rolled away from', async () => {
    await app.green.control({ errorRate: 0.2 })
    const r = await runAction('deploy-bluegreen', {
      ...haproxyInputs(app, [lb.socket], { 'verify-url': lb.url, 'verify-duration': '1s' }),
      mode: 'rollback'
    })
    expect(r.exitCode).toBe(1)
    expect(messages(r, 'error')).toMatch(/This was a rollback, so it is not reversed/)
    expect(r.outputs).toMatchObject({ 'rolled-back': 'false', 'live-slot': 'green' })
    expect(await lb.command('get weight app/green')).toMatch(/^100 /)
  })

  it('a failed verification says what the failing requests got', async () => {
    await app.green.control({ errorRate: 0.2 })
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], { 'verify-url': lb.url, 'verify-duration': '1s' })
    )
    expect(r.exitCode).toBe(1)
    expect(messages(r, 'error')).toMatch(/failed requests: HTTP 500 x\d+/)
    expect(r.outputs['rolled-back']).toBe('true')
    // green holds the release just undone: a rollback now must not send users there
    const rb = await runAction('deploy-bluegreen', {
      ...haproxyInputs(app, [lb.socket]),
      mode: 'rollback'
    })
    expect(rb.exitCode).not.toBe(0)
    expect(messages(rb, 'error')).toMatch(
      /nothing to roll back to: blue is live and the idle slot green holds the release that was undone/
    )
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })
})

describe('deploy-bluegreen: a half-switched fleet is recovered by the remedy its message names', () => {
  const lab = Lab.create()
  afterAll(() => lab.stop())

  it('mode: rollback with target-slot brings disagreeing load balancers into line', async () => {
    const { app, haproxy: a } = await haproxyLab(lab, { name: 'lb-a', live: 'blue' })
    const { haproxy: b } = await haproxyLab(lab, { name: 'lb-b', live: 'green', app })
    const refused = await runAction('deploy-bluegreen', haproxyInputs(app, [a.socket, b.socket]))
    expect(refused.exitCode).toBe(3)
    expect(messages(refused, 'error')).toMatch(/mode: rollback with target-slot/)

    const r = await runAction('deploy-bluegreen', {
      ...haproxyInputs(app, [a.socket, b.socket]),
      mode: 'rollback',
      'target-slot': 'blue'
    })
    expect(messages(r, 'error')).toBe('')
    expect(r.exitCode).toBe(0)
    expect(await slotCounts(a.url)).toEqual({ blue: 20 })
    expect(await slotCounts(b.url)).toEqual({ blue: 20 })
  })
})

describe('deploy-bluegreen on real nginx: the include file and the running config agree', () => {
  const lab = Lab.create()
  let app: Slots
  let nginx: NginxInstance
  const inputs = (extra: Record<string, string> = {}): Record<string, string> => ({
    router: 'nginx',
    'nginx-upstream-file': nginx.upstreamFile,
    'blue-servers': `127.0.0.1:${app.blue.port}`,
    'green-servers': `127.0.0.1:${app.green.port}`,
    'nginx-test-command': JSON.stringify(nginx.testCommand),
    'nginx-reload-command': JSON.stringify(nginx.reloadCommand),
    'health-url-blue': `${app.blue.url}/healthz`,
    'health-url-green': `${app.green.url}/healthz`,
    'health-checks': '2',
    'health-interval': '100ms',
    ...extra
  })
  const inFile = (): 'blue' | 'green' =>
    parseUpstream(readFileSync(nginx.upstreamFile, 'utf8'), {
      blue: [`127.0.0.1:${app.blue.port}`],
      green: [`127.0.0.1:${app.green.port}`]
    }).weights.blue === 100
      ? 'blue'
      : 'green'
  // The running config, once nginx has applied its last reload (old workers answer until then).
  const servedBy = (slot: string): Promise<Record<string, number>> =>
    settledSlotCounts(nginx.url, slot)

  beforeAll(async () => {
    app = await startApp(lab)
    nginx = await startNginx(lab, {
      upstream: `upstream app {\n    server 127.0.0.1:${app.blue.port};\n}\n`
    })
  })
  afterAll(() => lab.stop())

  it('keeps the include file owner and mode', async () => {
    chmodSync(nginx.upstreamFile, 0o640)
    chownSync(nginx.upstreamFile, 65534, 65534)
    const r = await runAction('deploy-bluegreen', inputs())
    expect(r.exitCode).toBe(0)
    const st = statSync(nginx.upstreamFile)
    expect(st.mode & 0o777).toBe(0o640)
    expect([st.uid, st.gid]).toEqual([65534, 65534])
    expect(await servedBy('green')).toEqual({ green: 10 })
  })

  it('a cancel while nginx tests the new file leaves file and running config on the same slot', async () => {
    const before = inFile()
    expect(await servedBy(before)).toEqual({ [before]: 10 })
    const marker = `${nginx.prefix}/testing`
    const script = `${nginx.prefix}/slow-test.sh`
    writeFileSync(
      script,
      `#!/bin/sh\ntouch ${marker}\nsleep 2\nexec ${nginx.testCommand.map((a) => `'${a}'`).join(' ')}\n`,
      { mode: 0o755 }
    )
    let sent = false
    const r = await runAction('deploy-bluegreen', inputs({ 'nginx-test-command': script }), {
      post: false,
      onStart: (child) => {
        const poll = setInterval(() => {
          if (!sent && existsSync(marker)) {
            sent = true
            clearInterval(poll)
            child.kill('SIGINT')
          }
        }, 20)
        child.on('exit', () => clearInterval(poll))
      }
    })
    expect(sent).toBe(true)
    expect(r.exitCode).not.toBe(0)
    // The cancel came before the reload: the file is back and nginx still serves the old slot.
    expect(inFile()).toBe(before)
    expect(await servedBy(before)).toEqual({ [before]: 10 })
  })

  it('verification starts only once the reload is in effect: N answers in a row from the target slot', async () => {
    const live = inFile()
    expect(await servedBy(live)).toEqual({ [live]: 10 })
    const target = live === 'blue' ? 'green' : 'blue'
    // The old slot now fails every request: any verification request it answers is a failure.
    await app[live as 'blue' | 'green'].control({ errorRate: 1 })
    // A reload that returns before the new configuration serves (as `nginx -s reload` does).
    const script = `${nginx.prefix}/late-reload.sh`
    writeFileSync(
      script,
      `#!/bin/sh\n(sleep 1; exec ${nginx.reloadCommand.map((a) => `'${a}'`).join(' ')}) >/dev/null 2>&1 &\n`,
      { mode: 0o755 }
    )
    try {
      const r = await runAction(
        'deploy-bluegreen',
        inputs({
          'nginx-reload-command': script,
          'verify-url': nginx.url,
          'verify-duration': '1s',
          'verify-slot-header': 'x-slot',
          // about when the switch is in effect, not the statistics
          'error-judgement': 'point'
        })
      )
      expect(messages(r, 'error')).toBe('')
      expect(r.exitCode).toBe(0)
      expect(r.stdout).toMatch(
        new RegExp(
          `switch in effect: 2 answers in a row from ${target} after \\d+ requests .*\\((\\d+) not switched yet\\)`
        )
      )
      expect(await servedBy(target)).toEqual({ [target]: 10 })
    } finally {
      await app[live as 'blue' | 'green'].control({ errorRate: 0 })
    }
  })
})
