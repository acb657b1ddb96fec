import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { readFileSync, writeFileSync } from 'node:fs'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { startApp } from '../../lab/services/app.js'
import { startNginx, type NginxInstance } from '../../lab/services/nginx.js'
import { startSshd, type SshdInstance } from '../../lab/services/sshd.js'
import type { HaproxyInstance } from '../../lab/services/haproxy.js'
import { haproxyInputs, haproxyLab, slotCounts, type Slots } from './helpers.js'

const errorOf = (r: { annotations: { level: string; message: string }[] }): string =>
  r.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n')

// 15 s, as lab/slots.ts settledSlotCounts: a loaded machine can take seconds to start new workers.
const waitFor = async (check: () => Promise<boolean>, ms = 15_000): Promise<void> => {
  const end = Date.now() + ms
  // A request racing nginx's graceful reload on a reused keep-alive connection can see the old
  // worker close it (the reload benchmark measures that); here we only wait for the new state.
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error('condition not met')
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('deploy-bluegreen on real nginx, locally and over SSH', () => {
  const lab = Lab.create()
  let app: Slots
  let nginx: NginxInstance
  let sshd: SshdInstance
  let lb: HaproxyInstance
  const initial = (a: Slots): string => `upstream app {\n    server 127.0.0.1:${a.blue.port};\n}\n`

  const nginxInputs = (extra: Record<string, string> = {}): Record<string, string> => ({
    router: 'nginx',
    'nginx-upstream-file': nginx.upstreamFile,
    'blue-servers': `127.0.0.1:${app.blue.port}`,
    'green-servers': `127.0.0.1:${app.green.port}`,
    'nginx-test-command': JSON.stringify(nginx.testCommand),
    'nginx-reload-command': JSON.stringify(nginx.reloadCommand),
    'nginx-upstream-options': 'keepalive 16;',
    'health-url-blue': `${app.blue.url}/healthz`,
    'health-url-green': `${app.green.url}/healthz`,
    'health-checks': '2',
    'health-interval': '100ms',
    ...extra
  })
  const sshInputs = (): Record<string, string> => ({
    'ssh-host': `127.0.0.1:${sshd.port}`,
    'ssh-user': sshd.user,
    'ssh-key': sshd.clientKey,
    'ssh-known-hosts': sshd.knownHosts
  })
  const onlySlot = (slot: string) => async () => (await slotCounts(nginx.url, 10))[slot] === 10

  beforeAll(async () => {
    app = await startApp(lab)
    ;[nginx, sshd] = await Promise.all([
      startNginx(lab, { upstream: initial(app) }),
      startSshd(lab)
    ])
    ;({ haproxy: lb } = await haproxyLab(lab, { app, name: 'lb-ssh' }))
  })
  afterAll(() => lab.stop())
  beforeEach(async () => {
    writeFileSync(nginx.upstreamFile, initial(app))
    const { execFileSync } = await import('node:child_process')
    execFileSync(nginx.reloadCommand[0], nginx.reloadCommand.slice(1))
    await waitFor(onlySlot('blue'))
  })

  it('switches and rolls back by rewriting the upstream file and reloading gracefully', async () => {
    const deploy = await runAction('deploy-bluegreen', nginxInputs())
    expect(errorOf(deploy)).toBe('')
    expect(deploy.outputs).toMatchObject({
      'live-slot': 'green',
      'previous-slot': 'blue',
      switched: 'true'
    })
    const file = readFileSync(nginx.upstreamFile, 'utf8')
    expect(file).toMatch(/# ops-actions: blue=0 green=100 previous=blue/)
    expect(file).toMatch(new RegExp(`server 127.0.0.1:${app.green.port} weight=100; # green`))
    expect(file).toMatch(new RegExp(`server 127.0.0.1:${app.blue.port} down; # blue`))
    expect(file).toMatch(/keepalive 16;/)
    await waitFor(onlySlot('green'))

    const rollback = await runAction('deploy-bluegreen', { ...nginxInputs(), mode: 'rollback' })
    expect(rollback.outputs).toMatchObject({ 'live-slot': 'blue', 'previous-slot': 'green' })
    await waitFor(onlySlot('blue'))
  })

  it('restores the old file and does not reload when nginx -t rejects the new one', async () => {
    const before = readFileSync(nginx.upstreamFile, 'utf8')
    // A real rejection: nginx -t cannot resolve this upstream host.
    const r = await runAction(
      'deploy-bluegreen',
      nginxInputs({
        'green-servers': 'no-such-host.invalid:80',
        'health-url-green': `${app.green.url}/healthz`
      })
    )
    expect(r.exitCode).toBe(3)
    expect(errorOf(r)).toMatch(
      /rejected the new upstream file, so the old file was restored and nginx was not reloaded \(traffic unchanged\).*host not found/
    )
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(before)
    expect(await slotCounts(nginx.url, 10)).toEqual({ blue: 10 })
  })

  it('drives nginx on a remote host over SSH (real sshd, host key checked)', async () => {
    const r = await runAction('deploy-bluegreen', { ...nginxInputs(), ...sshInputs() })
    expect(errorOf(r)).toBe('')
    expect(r.outputs['live-slot']).toBe('green')
    await waitFor(onlySlot('green'))
    const printed = r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'))
    expect(printed.join('\n')).not.toContain('PRIVATE KEY')
    expect(r.masks.some((m) => m.includes('PRIVATE KEY'))).toBe(true)
    const back = await runAction('deploy-bluegreen', {
      ...nginxInputs(),
      ...sshInputs(),
      mode: 'rollback'
    })
    expect(back.outputs['live-slot']).toBe('blue')
    await waitFor(onlySlot('blue'))
  })

  it('drives HAProxy over SSH through its unix socket, and rolls back', async () => {
    const inputs = { ...haproxyInputs(app, [lb.socket]), ...sshInputs() }
    const r = await runAction('deploy-bluegreen', inputs)
    expect(errorOf(r)).toBe('')
    expect(await slotCounts(lb.url)).toEqual({ green: 20 })
    const back = await runAction('deploy-bluegreen', { ...inputs, mode: 'rollback' })
    expect(back.exitCode).toBe(0)
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('refuses a host whose key is not in ssh-known-hosts (never disables checking)', async () => {
    const wrong = sshd.knownHosts.replace(
      /AAAA\S+/,
      'AAAAC3NzaC1lZDI1NTE5AAAAIHk7Dl3g0oSa3QmV1a1Xr1eT0lN0y4qJ4Yd7nQ0pC2Qf'
    )
    const r = await runAction('deploy-bluegreen', {
      ...nginxInputs(),
      ...sshInputs(),
      'ssh-known-hosts': wrong
    })
    expect(r.exitCode).toBe(3)
    expect(errorOf(r)).toMatch(
      /SSH connection failed: .*(Host key verification failed|REMOTE HOST IDENTIFICATION)/
    )
    expect(await slotCounts(nginx.url, 10)).toEqual({ blue: 10 })
  })
})
