/**
 * The local rehearsal: starts the lab (real HAProxy, Prometheus, PostgreSQL, registry, a sample
 * service with blue and green slots) and runs the pipeline end to end with the bundled actions,
 * exactly as the GitHub runner would. Prints progress and a final table; stops everything.
 *   npm run demo        (or: bash scripts/demo.sh)
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Lab } from './lab.js'
import { startLoad } from './load.js'
import { runAction, type ActionResult } from './runner.js'
import { startPostgres, pgProgram } from './services/postgres.js'
import { startRegistry } from './services/registry.js'
import { startServiceStack } from './stacks.js'
import { pushImage } from '../test/image-push/upload.js'

const data = fileURLToPath(new URL('./demo-data/', import.meta.url))
const started = Date.now()
const rows: [string, string, string, string][] = []
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`

async function step<T>(title: string, fn: () => Promise<[T, string, string]>): Promise<T> {
  process.stdout.write(`\n${bold(`▶ ${title}`)}\n`)
  const t0 = Date.now()
  const [value, result, figure] = await fn()
  rows.push([title, result, figure, secs(Date.now() - t0)])
  process.stdout.write(`  ${result}: ${figure} (${secs(Date.now() - t0)})\n`)
  return value
}

function expectExit(r: ActionResult, code: number, what: string): void {
  if (r.exitCode !== code) {
    const errors = r.annotations.filter((a) => a.level === 'error').map((a) => a.message)
    throw new Error(
      `${what}: exit ${r.exitCode}, expected ${code}\n${errors.join('\n') || r.stdout.slice(-2000)}`
    )
  }
}

const lab = Lab.create('ops-demo-')
const stopAll = async (): Promise<void> => {
  await lab.stop()
}
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)))

try {
  const services = await step('Start the lab (real servers on 127.0.0.1)', async () => {
    const [{ app, lb, prometheus }, pg, registry] = await Promise.all([
      startServiceStack(lab),
      startPostgres(lab),
      startRegistry(lab)
    ])
    return [
      { app, lb, prometheus, pg, registry },
      'up',
      `HAProxy :${lb.port}, Prometheus :${prometheus.port}, PostgreSQL :${pg.port}, registry :${registry.url.split(':').pop()}, app blue :${app.blue.port} / green :${app.green.port}`
    ]
  })
  const { app, lb, prometheus, pg, registry } = services
  const routerInputs = {
    router: 'haproxy',
    'haproxy-socket': lb.socket,
    'health-url-blue': `${app.blue.url}/healthz`,
    'health-url-green': `${app.green.url}/healthz`,
    'health-interval': '200ms'
  }

  await step('Build and test gate (pytest on the sample service)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'ops-demo-build-'))
    cpSync(join(data, 'service'), join(work, 'service'), { recursive: true })
    try {
      const r = await runAction(
        'build-gate',
        {
          'working-directory': join(work, 'service'),
          test: JSON.stringify([
            '/usr/bin/python3',
            '-m',
            'pytest',
            '-q',
            '-p',
            'no:cacheprovider',
            '--junitxml=reports/junit.xml'
          ]),
          'test-reports': 'reports/*.xml'
        },
        { env: { GITHUB_WORKSPACE: work } }
      )
      expectExit(r, 0, 'build-gate')
      return [undefined, 'passed', `${r.outputs.tests} tests, ${r.outputs.failures} failures`]
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  })

  await step('Image push: promote the staging digest to production (no rebuild)', async () => {
    const target = { url: registry.url }
    const staged = await pushImage(target, 'shop/web', 'staging', {
      layers: 2,
      layerBytes: 200_000
    })
    const r = await runAction('image-push', {
      mode: 'promote',
      source: `${registry.host}/shop/web:staging`,
      image: `${registry.host}/shop/web`,
      tags: 'sha'
    })
    expectExit(r, 0, 'image-push')
    if (r.outputs.digest !== staged.digest) throw new Error('promoted digest differs from staging')
    return [
      r.outputs.image,
      'promoted',
      `${r.outputs.image.split('@')[1].slice(0, 19)}… tags ${r.outputs.tags.split('\n').join(', ')}`
    ]
  })

  await step('Security scan gate (real Trivy reports)', async () => {
    // A recorded report of a clean image (not the one promoted above: no Trivy DB download
    // here), so no `target`: the action refuses a report of another image than the target.
    const clean = await runAction('security-scan', {
      'scan-type': 'image',
      'report-file': join(data, 'trivy-image-slmicro-clean-zero-vulns.json'),
      cache: 'false'
    })
    expectExit(clean, 0, 'security-scan (clean)')
    const bad = await runAction('security-scan', {
      'scan-type': 'image',
      'report-file': join(data, 'trivy-image-debian-buster-critical-and-unfixed.json'),
      cache: 'false'
    })
    expectExit(bad, 1, 'security-scan (critical)')
    return [
      undefined,
      'gated',
      `clean report passed; debian:buster stopped (${bad.outputs.critical} CRITICAL)`
    ]
  })

  await step('Blue-green switch under load (blue -> green)', async () => {
    const load = startLoad(lb.url, { ratePerSecond: 300, maxDurationMs: 30_000 })
    await new Promise((r) => setTimeout(r, 1000))
    const r = await runAction('deploy-bluegreen', {
      ...routerInputs,
      'verify-url': lb.url,
      // 3,200 clean requests in one look show the error rate <= 0.1 % at 95 % (the default
      // interval judgement); 60 would be inconclusive and rolled back
      'verify-duration': '16s',
      'verify-max-duration': '16s',
      'verify-rate': '200',
      // The app, the 300 req/s load and the probe share this machine: on a loaded laptop or CI
      // the P95 measured here is the machine's, not the service's (731 ms seen with 6 builds
      // beside it). The 500 ms goal itself is exercised by the e2e tests.
      'verify-max-p95': '2s'
    })
    await new Promise((res) => setTimeout(res, 1000))
    const stats = await load.stop()
    expectExit(r, 0, 'deploy-bluegreen')
    return [
      undefined,
      `${r.outputs['live-slot']} live`,
      `failed user requests: ${stats.failed} of ${stats.sent}; switch ${r.outputs['switch-ms']} ms`
    ]
  })

  const canaryInputs = {
    ...routerInputs,
    'prometheus-url': prometheus.url,
    'step-duration': '3s',
    'analysis-interval': '3s',
    'min-requests': '10',
    // a 3 s step at 5 % of 250 req/s holds ~37 canary requests: far too few to show 0.1 % with
    // the interval rule (6,000+), so the demo steps use the point rule, said so in its summary
    'error-judgement': 'point',
    // As for the switch: the absolute P95 here is the shared machine's; the comparison with
    // the stable slot (same machine) still judges the canary's latency
    'max-p95-latency': '2s',
    // ~37 canary requests per analysis under the point rule: one stray lab error (about 1 in 400
    // requests in some runs here, cause not pinned down) is 2.7 % and would abort a good
    // canary. Tolerate one failed analysis, as Argo's failureLimit does; 5 % errors fail every one.
    'failure-limit': '1'
  }
  await step('Canary with 5% errors (blue as canary) is aborted', async () => {
    await app.blue.control({ errorRate: 0.05, version: 'v3-bad' })
    const load = startLoad(lb.url, { ratePerSecond: 250, maxDurationMs: 60_000 })
    const t0 = Date.now()
    const r = await runAction('canary-promote', canaryInputs)
    const took = Date.now() - t0
    await load.stop()
    expectExit(r, 1, 'canary-promote (bad)')
    const decisions = JSON.parse(r.outputs.decisions) as {
      weight: number
      measurements: { check: string; shown: string; verdict: string }[]
    }[]
    const last = decisions[decisions.length - 1]
    const why = last.measurements.find((m) => m.verdict === 'fail' || m.verdict === 'inconclusive')
    return [
      undefined,
      'aborted',
      `at ${last.weight}% after ${secs(took)}: ${why?.check} ${why?.shown}; canary weight ${r.outputs['final-weight']}%`
    ]
  })

  await step('Good canary (blue, fixed) promoted 5 -> 25 -> 50 -> 100%', async () => {
    await app.blue.control({ errorRate: 0, version: 'v3' })
    // The aborted run's last errors reach Prometheus up to a scrape (1 s) after it ended; the
    // first 3 s analysis would count them against the fixed release. Wait them out of the window.
    await new Promise((r) => setTimeout(r, 5000))
    const load = startLoad(lb.url, { ratePerSecond: 250, maxDurationMs: 60_000 })
    const r = await runAction('canary-promote', canaryInputs)
    const stats = await load.stop()
    expectExit(r, 0, 'canary-promote (good)')
    const analyses = (JSON.parse(r.outputs.decisions) as unknown[]).length
    return [
      undefined,
      r.outputs.result,
      `${analyses} analyses passed in ${r.outputs['duration-s']}s; failed user requests ${stats.failed} of ${stats.sent}`
    ]
  })

  await step('Rollback (back to the previous slot)', async () => {
    const t0 = Date.now()
    const r = await runAction('deploy-bluegreen', { ...routerInputs, mode: 'rollback' })
    expectExit(r, 0, 'rollback')
    return [
      undefined,
      `${r.outputs['live-slot']} live`,
      `traffic restored in ${secs(Date.now() - t0)} (action start to end)`
    ]
  })

  await step('Backup made with pg_dump and proven restorable', async () => {
    await pg.psql(
      'CREATE TABLE orders (id serial PRIMARY KEY, cents int NOT NULL); INSERT INTO orders (cents) SELECT g FROM generate_series(1, 5000) g;'
    )
    const dump = join(lab.dir, 'shop.dump')
    execFileSync(pgProgram('pg_dump'), ['-Fc', '-f', dump, 'postgres'], {
      env: { ...process.env, ...pg.env }
    })
    const r = await runAction('backup-verify', {
      backup: dump,
      'database-url': pg.url,
      'min-rows': 'public.orders>=5000',
      'max-age': '1h',
      // pg_dump writes its local time without a zone: say which zone this machine's pg_dump used.
      'dump-timezone': process.env.TZ || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
      checks: 'positive: SELECT bool_and(cents > 0) FROM orders'
    })
    expectExit(r, 0, 'backup-verify')
    return [
      undefined,
      'restorable',
      `${r.outputs.tables} tables, ${r.outputs.rows} rows restored in ${r.outputs['restore-seconds']}s`
    ]
  })

  process.stdout.write(`\n${bold('Pipeline rehearsal')}\n\n`)
  const widths = [0, 1, 2, 3].map((i) =>
    Math.max(...rows.map((r) => r[i].length), ['step', 'result', 'figures', 'time'][i].length)
  )
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ')
  process.stdout.write(
    `${line(['step', 'result', 'figures', 'time'])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`
  )
  for (const r of rows) process.stdout.write(`${line(r)}\n`)
  process.stdout.write(`\nall steps passed in ${secs(Date.now() - started)}; stopping the lab\n`)
} catch (error) {
  process.stdout.write(`\ndemo failed: ${(error as Error).message}\n`)
  process.exitCode = 1
} finally {
  await stopAll()
}
