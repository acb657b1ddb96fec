/**
 * nginx switches with and without a reload, in one run (prints figures; asserts nothing).
 *   npx tsx bench/nginx-lua-switch.ts [switches=20]
 * The same nginx build, the same app slots and the same keep-alive load (wrk, 1 thread,
 * 32 connections, bounded in time) across N blue<->green switches made by the router code the
 * actions run: nginx-mode reload (rewrite + nginx -t + nginx -s reload) and nginx-mode lua
 * (rewrite + PUT to the admin socket). Prints failed requests and throughput for each.
 */
import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { Lab } from '../lab/lab.js'
import { startApp } from '../lab/services/app.js'
import { startNginx } from '../lab/services/nginx.js'
import { NginxRouter, renderUpstream } from '../src/traffic/nginx.js'
import { NginxLuaRouter, renderLuaUpstream } from '../src/traffic/nginx-lua.js'
import type { Router } from '../src/traffic/router.js'
import { allOn, type Slot } from '../src/traffic/slots.js'
import { LocalTransport } from '../src/traffic/transport.js'

const SWITCHES = Number(process.argv[2] ?? 20)

interface WrkResult {
  requests: number
  durationUs: number
  non2xx: number
  connect: number
  read: number
  write: number
  timeout: number
}

function wrk(url: string, seconds: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', [
      '-t1',
      '-c32',
      `-d${seconds}s`,
      '-s',
      new URL('./wrk-report.lua', import.meta.url).pathname,
      url
    ])
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('close', () => {
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (!line) return reject(new Error(`wrk printed no report:\n${out}`))
      resolve(JSON.parse(line) as WrkResult)
    })
  })
}

/** Throughput with no switch at all: the cost of the Lua balancer itself. */
async function steady(name: string, url: string): Promise<number> {
  const w = await wrk(url, 5)
  const rps = w.requests / (w.durationUs / 1e6)
  console.log(
    `${name.padEnd(16)} no switch, 5 s: ${Math.round(rps)} req/s (${w.requests} requests)`
  )
  return rps
}

async function rounds(name: string, url: string, router: Router, n: number) {
  const seconds = Math.ceil(n * 0.5) + 3
  const load = wrk(url, seconds)
  await new Promise((r) => setTimeout(r, 1000))
  let live: Slot = 'blue'
  const started = performance.now()
  for (let i = 0; i < n; i++) {
    const next: Slot = live === 'blue' ? 'green' : 'blue'
    await router.setWeights(allOn(next), { previous: live, reason: 'bench' })
    live = next
    await new Promise((r) => setTimeout(r, 300))
  }
  const switchMs = performance.now() - started
  const w = await load
  const failed = w.non2xx + w.connect + w.read + w.write + w.timeout
  const rps = w.requests / (w.durationUs / 1e6)
  console.log(
    `${name.padEnd(16)} ${n} switches in ${(switchMs / 1000).toFixed(1)} s under ${Math.round(rps)} req/s ` +
      `(wrk, 32 keep-alive connections, ${w.requests} requests): failed ${failed} ` +
      `(non-2xx ${w.non2xx}, read ${w.read}, write ${w.write}, connect ${w.connect}, timeout ${w.timeout})`
  )
  return { failed, rps }
}

try {
  execFileSync('wrk', ['--version'], { stdio: 'ignore' })
} catch (e) {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
    console.error('this benchmark needs wrk: apt-get install wrk')
    process.exit(2)
  }
}

const lab = Lab.create('ops-bench-nginx-lua-')
try {
  const app = await startApp(lab)
  const servers = { blue: [`127.0.0.1:${app.blue.port}`], green: [`127.0.0.1:${app.green.port}`] }
  const upstreamOptions = ['keepalive 16;']
  const transport = new LocalTransport()
  const changed = new Date().toISOString()

  const plain = await startNginx(lab, {
    name: 'nginx-reload',
    lua: true, // the same binary and modules in both runs; only the switch differs
    upstream: renderUpstream(
      { upstreamName: 'app', servers, upstreamOptions },
      allOn('blue'),
      'green',
      changed
    )
  })
  const reloadSteady = await steady('nginx reload', plain.url)
  const reload = await rounds(
    'nginx reload',
    plain.url,
    new NginxRouter({
      upstreamFile: plain.upstreamFile,
      upstreamName: 'app',
      servers,
      upstreamOptions,
      testCommand: plain.testCommand,
      reloadCommand: plain.reloadCommand,
      transport
    }),
    SWITCHES
  )
  await plain.process.stop()

  const admin = join(lab.path(), 'admin.sock')
  const luaOptions = { upstreamName: 'app', servers, upstreamOptions, admin }
  const lua = await startNginx(lab, {
    name: 'nginx-lua',
    lua: true,
    upstream: renderLuaUpstream(luaOptions, allOn('blue'), 'green', changed)
  })
  const luaSteady = await steady('nginx lua', lua.url)
  const noReload = await rounds(
    'nginx lua',
    lua.url,
    new NginxLuaRouter({
      ...luaOptions,
      upstreamFile: lua.upstreamFile,
      testCommand: lua.testCommand,
      reloadCommand: lua.reloadCommand,
      transport
    }),
    SWITCHES
  )
  console.log(
    `nginx lua vs reload: failed ${noReload.failed} vs ${reload.failed}; throughput ${((noReload.rps / reload.rps) * 100).toFixed(0)}% of plain reload's under switches, ${((luaSteady / reloadSteady) * 100).toFixed(0)}% with no switch (goal: 0 failed at >= 90%)`
  )
} finally {
  await lab.stop()
}
