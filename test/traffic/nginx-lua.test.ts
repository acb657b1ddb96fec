import { afterAll, beforeAll, describe, expect, it, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { settledSlotCounts, slotCounts } from '../../lab/slots.js'
import { freePort } from '../../lab/ports.js'
import { httpOk } from '../../lab/process.js'
import { startApp, type AppSlot } from '../../lab/services/app.js'
import { startNginx, type NginxInstance } from '../../lab/services/nginx.js'
import {
  luaPeer,
  NginxLuaRouter,
  parseAdminAddress,
  renderLuaUpstream
} from '../../src/traffic/nginx-lua.js'
import { LocalTransport } from '../../src/traffic/transport.js'

const repoRoot = join(import.meta.dirname, '..', '..')
const PATH = `${process.env.PATH}:/usr/sbin`

function nginxCheck(argv: string[]): { status: number | null; output: string } {
  const r = spawnSync('nginx', argv, { encoding: 'utf8', env: { ...process.env, PATH } })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

/** A raw HTTP request from a chosen loopback source address (to test the admin's allow list). */
function fromAddress(
  localAddress: string,
  port: number,
  method = 'GET'
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/ops-actions/weights', method, localAddress },
      (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      }
    )
    req.on('error', reject)
    req.end()
  })
}

describe('admin address and peers are validated before anything is written', () => {
  test.each([
    ['/run/ops-actions/nginx.sock', 'unix'],
    ['127.0.0.1:9180', 'tcp'],
    ['[::1]:9180', 'tcp']
  ])('accepts %s', (raw, kind) => {
    expect(parseAdminAddress('nginx-admin', raw).kind).toBe(kind)
  })
  test.each([
    '0.0.0.0:9180',
    '10.0.0.5:9180',
    'localhost:9180',
    'relative/admin.sock',
    '/run/../etc/admin.sock',
    '/run/admin.sock; listen 80',
    '127.0.0.1:0',
    '127.0.0.1:99999'
  ])('refuses %s, naming the input and what is accepted', (raw) => {
    expect(() => parseAdminAddress('nginx-admin', raw)).toThrow(
      /input `nginx-admin` = .*unix socket path .* or 127\.0\.0\.1:port/
    )
  })
  test.each(['app.internal:8080', '10.0.0.300:8080', '10.0.0.1', '10.0.0.1:80; evil'])(
    'refuses the peer %s (the Lua balancer takes IP:port only)',
    (server) => {
      expect(() => luaPeer('blue-servers', server)).toThrow(/blue-servers.*IP:port/)
    }
  )
})

describe('nginx-mode lua on a real nginx with libnginx-mod-http-lua', () => {
  const lab = Lab.create('ops-nginx-lua-')
  let app: Record<'blue' | 'green', AppSlot>
  let nginx: NginxInstance
  let router: NginxLuaRouter
  let admin: string
  let tcpAdmin: number
  const servers = (a: typeof app) => ({
    blue: [`127.0.0.1:${a.blue.port}`],
    green: [`127.0.0.1:${a.green.port}`]
  })
  const workerPids = (): string =>
    spawnSync(
      'ps',
      ['-o', 'pid=', '--ppid', readFileSync(join(nginx.prefix, 'nginx.pid'), 'utf8').trim()],
      {
        encoding: 'utf8'
      }
    ).stdout.trim()

  beforeAll(async () => {
    app = await startApp(lab)
    admin = join(lab.path(), 'nginx-admin.sock')
    const options = {
      upstreamName: 'app',
      servers: servers(app),
      upstreamOptions: ['keepalive 16;'],
      admin
    }
    nginx = await startNginx(lab, {
      lua: true,
      upstream: renderLuaUpstream(
        options,
        { blue: 100, green: 0 },
        'green',
        new Date(0).toISOString()
      )
    })
    router = new NginxLuaRouter({
      ...options,
      upstreamFile: nginx.upstreamFile,
      testCommand: nginx.testCommand,
      reloadCommand: nginx.reloadCommand,
      transport: new LocalTransport()
    })
    tcpAdmin = await freePort()
  })
  afterAll(() => lab.stop())

  it('reads the live weights from the admin socket', async () => {
    const state = await router.read()
    expect(state.weights).toEqual({ blue: 100, green: 0 })
    expect(await slotCounts(nginx.url, 20)).toEqual({ blue: 20 })
  })

  it('switches all traffic with no reload: same worker processes, new requests on green', async () => {
    const before = workerPids()
    await router.setWeights({ blue: 0, green: 100 }, { previous: 'blue', reason: 'test' })
    expect(await slotCounts(nginx.url, 30)).toEqual({ green: 30 })
    expect(workerPids()).toBe(before)
    expect(readFileSync(join(nginx.prefix, 'logs', 'error.log'), 'utf8')).not.toMatch(
      /reconfiguring/
    )
    expect((await router.read()).weights).toEqual({ blue: 0, green: 100 })
  })

  it('splits per request by the canary weight (20 % of 400 requests, within binomial noise)', async () => {
    await router.setWeights({ blue: 80, green: 20 }, { previous: 'blue', reason: 'canary' })
    const seen = await slotCounts(nginx.url, 400)
    expect(seen.blue + seen.green).toBe(400)
    // mean 80, sd 8: 40..120 is 5 sd either side
    expect(seen.green).toBeGreaterThan(40)
    expect(seen.green).toBeLessThan(120)
  })

  it('comes back to the same weights after a restart (the file holds them), and after a reload', async () => {
    await router.setWeights({ blue: 0, green: 100 }, { previous: 'blue', reason: 'test' })
    await nginx.process.stop()
    const again = lab.spawn('nginx-again', [
      'nginx',
      '-p',
      nginx.prefix,
      '-c',
      nginx.configFile,
      '-g',
      'daemon off;'
    ])
    await again.waitReady(() => httpOk(`${nginx.url}/__lab_ready`), 15_000)
    nginx = { ...nginx, process: again }
    expect((await router.read()).weights).toEqual({ blue: 0, green: 100 })
    expect(await slotCounts(nginx.url, 20)).toEqual({ green: 20 })
    expect(nginxCheck(nginx.reloadCommand.slice(1)).status).toBe(0)
    // the reloaded workers answer after a moment (seconds on a loaded machine): wait, bounded
    expect(await settledSlotCounts(nginx.url, 'green', { n: 20 })).toEqual({ green: 20 })
  })

  it('obeys a file restored by hand and reloaded over older live weights', async () => {
    await router.setWeights({ blue: 0, green: 100 }, { previous: 'blue', reason: 'test' })
    const text = readFileSync(nginx.upstreamFile, 'utf8')
    const later = new Date(Date.now() + 60_000).toISOString()
    writeFileSync(
      nginx.upstreamFile,
      renderLuaUpstream(
        { upstreamName: 'app', servers: servers(app), upstreamOptions: ['keepalive 16;'], admin },
        { blue: 100, green: 0 },
        'green',
        later
      )
    )
    expect(nginxCheck(nginx.reloadCommand.slice(1)).status).toBe(0)
    expect(await settledSlotCounts(nginx.url, 'blue', { n: 20 })).toEqual({ blue: 20 })
    writeFileSync(nginx.upstreamFile, text)
    expect(nginxCheck(nginx.reloadCommand.slice(1)).status).toBe(0)
    await new Promise((r) => setTimeout(r, 500))
  })

  it('the admin endpoint refuses bad weights, and a refused change leaves the file and traffic as they were', async () => {
    await router.setWeights({ blue: 100, green: 0 }, { previous: 'green', reason: 'test' })
    const file = readFileSync(nginx.upstreamFile, 'utf8')
    const r = spawnSync(
      'curl',
      [
        '-sS',
        '--unix-socket',
        admin,
        '-X',
        'PUT',
        '--data',
        'blue=500&green=0&changed=x',
        'http://localhost/ops-actions/weights'
      ],
      { encoding: 'utf8' }
    )
    expect(r.stdout).toMatch(/expected blue=N&green=N/)
    await expect(
      router.setWeights({ blue: 101, green: 0 }, { previous: 'green', reason: 'bad' })
    ).rejects.toThrow(/refused the weights.*HTTP 400/)
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(file)
    expect(await slotCounts(nginx.url, 10)).toEqual({ blue: 10 })
  })

  it('an admin endpoint on 127.0.0.1 answers loopback 127.0.0.1 only (403 from 127.0.0.2)', async () => {
    const tcp = new NginxLuaRouter({
      upstreamName: 'app',
      servers: servers(app),
      upstreamOptions: ['keepalive 16;'],
      admin: `127.0.0.1:${tcpAdmin}`,
      upstreamFile: nginx.upstreamFile,
      testCommand: nginx.testCommand,
      reloadCommand: nginx.reloadCommand,
      transport: new LocalTransport()
    })
    // the socket admin is not there for this router yet: it installs its own with one reload
    await tcp.setWeights({ blue: 100, green: 0 }, { previous: 'green', reason: 'admin on tcp' })
    expect((await fromAddress('127.0.0.1', tcpAdmin)).status).toBe(200)
    expect((await fromAddress('127.0.0.2', tcpAdmin)).status).toBe(403)
    await tcp.setWeights({ blue: 0, green: 100 }, { previous: 'blue', reason: 'test' })
    expect(await slotCounts(nginx.url, 10)).toEqual({ green: 10 })
  })
})

describe('examples/nginx/lua', () => {
  const lab = Lab.create('ops-examples-nginx-lua-')
  afterAll(() => lab.stop())

  it('passes nginx -t with the lua module and the include file (in a temp prefix)', async () => {
    const prefix = lab.mkdir('nginx')
    lab.mkdir('nginx', 'logs')
    const upstream = join(prefix, 'app-upstream.conf')
    copyFileSync(join(repoRoot, 'examples', 'nginx', 'lua', 'app-upstream.conf'), upstream)
    writeFileSync(
      upstream,
      readFileSync(upstream, 'utf8').replace(
        '/run/ops-actions/nginx-admin.sock',
        join(prefix, 'admin.sock')
      )
    )
    const config = readFileSync(join(repoRoot, 'examples', 'nginx', 'lua', 'nginx.conf'), 'utf8')
      .replace('include /etc/nginx/ops-actions/app-upstream.conf;', `include ${upstream};`)
      .replace('/run/nginx.pid', join(prefix, 'nginx.pid'))
      .replace(/\/var\/log\/nginx\//g, `${prefix}/logs/`)
      .replace('user www-data;', process.getuid?.() === 0 ? 'user root;' : '')
      .replace('listen 80;', `listen 127.0.0.1:${await freePort()};`)
    expect(config).toContain(`include ${upstream};`)
    writeFileSync(join(prefix, 'nginx.conf'), config)
    const r = nginxCheck(['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')])
    expect(r.output).toMatch(/test is successful/)
    expect(r.status).toBe(0)
  })

  it('ships the include file exactly as the router writes it (blue live, keepalive 32)', () => {
    const text = readFileSync(
      join(repoRoot, 'examples', 'nginx', 'lua', 'app-upstream.conf'),
      'utf8'
    )
    const changed = /changed=(\S+)/.exec(text)![1]
    expect(text).toBe(
      renderLuaUpstream(
        {
          upstreamName: 'app',
          servers: { blue: ['10.0.0.11:8080'], green: ['10.0.0.12:8080'] },
          upstreamOptions: ['keepalive 32;'],
          admin: '/run/ops-actions/nginx-admin.sock'
        },
        { blue: 100, green: 0 },
        'green',
        changed
      )
    )
  })
})
