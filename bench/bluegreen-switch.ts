/**
 * Blue-green switch benchmark (prints figures; asserts nothing).
 *   npx tsx bench/bluegreen-switch.ts [switches=20]
 * 1. Keep-alive load (wrk, 32 connections, as fast as the machine allows) through HAProxy and
 *    nginx across N consecutive switches by the bundled action: failed requests (non-2xx or
 *    socket errors) per router.
 * 2. Time from action start to "every new request lands on the new slot" (a 200 req/s probe
 *    sees the last old-slot answer), for deploy and rollback: median and max.
 * 3. Cold start of the bundle: node start to first log line, against `node -e` in the same run.
 * 4. Verification under keep-alive load: 30 nginx switches (both slots healthy) with
 *    verify-url; spurious verification failures (goal 0) with the switch confirmed by
 *    verify-slot-header and keep-alive resets retried once, next to the failed requests the
 *    plain reload caused for wrk's 32 keep-alive connections in the same rounds.
 *    `npx tsx bench/bluegreen-switch.ts [switches] --verify-only` runs only this part.
 */
import { spawn } from 'node:child_process'
import { Lab } from '../lab/lab.js'
import { runAction } from '../lab/runner.js'
import { startApp } from '../lab/services/app.js'
import { startHaproxy } from '../lab/services/haproxy.js'
import { startNginx } from '../lab/services/nginx.js'
import { actionDir } from '../lab/action-yml.js'

const SWITCHES = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 20)
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const max = (xs: number[]): number => Math.max(...xs)

interface WrkResult {
  requests: number
  durationUs: number
  non2xx: number
  connect: number
  read: number
  write: number
  timeout: number
}

function startWrk(url: string, seconds: number): Promise<WrkResult> {
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

/** Paced probe that records which slot answered each request, by send time. */
function startProbe(url: string): {
  stop(): Promise<void>
  answers: { at: number; slot: string }[]
} {
  const answers: { at: number; slot: string }[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      const at = performance.now()
      try {
        const res = await fetch(url)
        await res.arrayBuffer()
        answers.push({ at, slot: res.headers.get('x-slot') ?? `status ${res.status}` })
      } catch {
        answers.push({ at, slot: 'error' })
      }
      await new Promise((r) => setTimeout(r, 5))
    }
  })()
  return {
    answers,
    stop: async () => {
      running = false
      await loop
    }
  }
}

/** ms from `start` to the first request after which every answer came from `slot`. */
function timeToSlot(answers: { at: number; slot: string }[], start: number, slot: string): number {
  const after = answers.filter((a) => a.at >= start)
  let lastOther = start
  for (const a of after) if (a.slot !== slot) lastOther = a.at
  const firstAll = after.find((a) => a.at > lastOther && a.slot === slot)
  return firstAll ? firstAll.at - start : NaN
}

async function switchRounds(
  name: string,
  url: string,
  inputs: Record<string, string>,
  n: number
): Promise<void> {
  const seconds = Math.ceil(n * 1.6) + 4
  const wrk = startWrk(url, seconds)
  const probe = startProbe(url)
  await new Promise((r) => setTimeout(r, 1000))
  const deployMs: number[] = []
  const rollbackMs: number[] = []
  let live = 'blue'
  for (let i = 0; i < n; i++) {
    const mode = i % 2 === 0 ? 'deploy' : 'rollback'
    const target = live === 'blue' ? 'green' : 'blue'
    const start = performance.now()
    const r = await runAction('deploy-bluegreen', { ...inputs, mode })
    if (r.exitCode !== 0) throw new Error(`${name} ${mode} failed: ${r.stdout}`)
    live = target
    await new Promise((res) => setTimeout(res, 300))
    ;(mode === 'deploy' ? deployMs : rollbackMs).push(timeToSlot(probe.answers, start, target))
  }
  await probe.stop()
  const w = await wrk
  const failed = w.non2xx + w.connect + w.read + w.write + w.timeout
  const rps = Math.round(w.requests / (w.durationUs / 1e6))
  console.log(
    `${name.padEnd(30)} ${n} switches under ${rps} req/s (wrk, 32 keep-alive connections; ${w.requests} requests): ` +
      `failed ${failed} (non-2xx ${w.non2xx}, read ${w.read}, write ${w.write}, connect ${w.connect}, timeout ${w.timeout})`
  )
  console.log(
    `${''.padEnd(30)} start -> all new requests on the new slot: deploy median ${Math.round(median(deployMs))} ms, max ${Math.round(max(deployMs))} ms; ` +
      `rollback median ${Math.round(median(rollbackMs))} ms, max ${Math.round(max(rollbackMs))} ms`
  )
}

async function verifyRounds(
  name: string,
  url: string,
  inputs: Record<string, string>,
  n: number
): Promise<void> {
  const wrk = startWrk(url, Math.ceil(n * 4) + 5)
  await new Promise((r) => setTimeout(r, 1000))
  let spurious = 0
  let resets = 0
  const why: string[] = []
  let mode: 'deploy' | 'rollback' = 'deploy'
  for (let i = 0; i < n; i++) {
    const r = await runAction('deploy-bluegreen', {
      ...inputs,
      mode,
      'verify-url': url,
      'verify-duration': '1s',
      'verify-rate': '50'
    })
    const warned = /(\d+) requests met a reused keep-alive connection/.exec(r.stdout)
    if (warned) resets += Number(warned[1])
    if (r.exitCode !== 0) {
      spurious++
      why.push(
        r.annotations
          .filter((a) => a.level === 'error')
          .map((a) => a.message)
          .join(' / ')
          .slice(0, 400)
      )
    }
    // After a failed (rolled back) deploy the next round deploys again.
    if (r.exitCode === 0) mode = mode === 'deploy' ? 'rollback' : 'deploy'
  }
  const w = await wrk
  const failed = w.non2xx + w.connect + w.read + w.write + w.timeout
  console.log(
    `${name.padEnd(30)} ${n} switches with verification: spurious verification failures ${spurious} (goal 0), ` +
      `${resets} verification requests retried after a keep-alive reset; plain reload, same rounds: ${failed} of ${w.requests} wrk requests failed` +
      (why.length ? `\n${''.padEnd(30)} ${why.slice(0, 3).join(' | ')}` : '')
  )
}

async function coldStart(runs = 10): Promise<void> {
  const firstLine = (argv: string[], env: Record<string, string>): Promise<number> =>
    new Promise((resolve) => {
      const start = performance.now()
      const child = spawn(process.execPath, argv, { env: { ...process.env, ...env } })
      child.stdout.once('data', () => resolve(performance.now() - start))
      child.on('close', () => resolve(performance.now() - start))
    })
  const bundle: number[] = []
  const baseline: number[] = []
  for (let i = 0; i < runs; i++) {
    baseline.push(await firstLine(['-e', 'console.log(1)'], {}))
    bundle.push(
      await firstLine([`${actionDir('deploy-bluegreen')}/dist/index.js`], {
        INPUT_ROUTER: 'haproxy',
        INPUT_MODE: 'status',
        'INPUT_HAPROXY-SOCKET': '/nonexistent'
      })
    )
  }
  console.log(
    `cold start (node start -> first log line, ${runs} runs): bundle median ${Math.round(median(bundle))} ms, node -e baseline ${Math.round(median(baseline))} ms, ratio ${(median(bundle) / median(baseline)).toFixed(1)}x`
  )
}

import { execFileSync } from 'node:child_process'
try {
  execFileSync('wrk', ['--version'], { stdio: 'ignore' })
} catch (e) {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
    console.error('this benchmark needs wrk: apt-get install wrk')
    process.exit(2)
  }
}

const lab = Lab.create('ops-bench-')
try {
  const app = await startApp(lab)
  const health = {
    'health-url-blue': `${app.blue.url}/healthz`,
    'health-url-green': `${app.green.url}/healthz`,
    'health-checks': '1',
    'health-interval': '50ms'
  }
  const lb = await startHaproxy(lab, {
    servers: [
      { name: 'blue', address: `127.0.0.1:${app.blue.port}`, weight: 100 },
      { name: 'green', address: `127.0.0.1:${app.green.port}`, weight: 0 }
    ]
  })
  if (process.argv.includes('--verify-only')) {
    const upstream = `upstream app {\n  server 127.0.0.1:${app.blue.port};\n  keepalive 16;\n}\n`
    const nginx = await startNginx(lab, { upstream })
    const common = {
      router: 'nginx',
      'nginx-upstream-file': nginx.upstreamFile,
      'blue-servers': `127.0.0.1:${app.blue.port}`,
      'green-servers': `127.0.0.1:${app.green.port}`,
      'nginx-upstream-options': 'keepalive 16;',
      'nginx-test-command': JSON.stringify(nginx.testCommand),
      'nginx-reload-command': JSON.stringify(nginx.reloadCommand),
      ...health
    }
    await verifyRounds(
      'nginx, verify-slot-header',
      nginx.url,
      { ...common, 'verify-slot-header': 'x-slot' },
      SWITCHES
    )
    await verifyRounds('nginx, no slot header', nginx.url, common, SWITCHES)
    process.exit(0)
  }
  await switchRounds(
    'haproxy',
    lb.url,
    { router: 'haproxy', 'haproxy-socket': lb.socket, ...health },
    SWITCHES
  )

  const upstream = `upstream app {\n  server 127.0.0.1:${app.blue.port};\n  keepalive 16;\n}\n`
  const nginx = await startNginx(lab, { upstream })
  const nginxInputs = (n: typeof nginx): Record<string, string> => ({
    router: 'nginx',
    'nginx-upstream-file': n.upstreamFile,
    'blue-servers': `127.0.0.1:${app.blue.port}`,
    'green-servers': `127.0.0.1:${app.green.port}`,
    'nginx-upstream-options': 'keepalive 16;',
    'nginx-test-command': JSON.stringify(n.testCommand),
    'nginx-reload-command': JSON.stringify(n.reloadCommand),
    ...health
  })
  await switchRounds('nginx (reload)', nginx.url, nginxInputs(nginx), SWITCHES)

  // The same nginx without client keep-alive: no idle client connection exists for an old
  // worker to close during a reload, so none can race a request (each request pays a connect).
  const noKeepalive = await startNginx(lab, {
    name: 'nginx-nokeepalive',
    upstream,
    keepaliveTimeout: '0'
  })
  await switchRounds(
    'nginx (no client keep-alive)',
    noKeepalive.url,
    nginxInputs(noKeepalive),
    SWITCHES
  )
  await coldStart()
} finally {
  await lab.stop()
}
