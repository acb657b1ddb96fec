// @ts-check
// The lab's sample service: one process per slot (blue or green). Serves / and /healthz,
// exposes Prometheus metrics, and takes faults at run time through POST /__control:
//   {"errorRate": 0.05, "latencyMs": 800, "healthy": false, "version": "v2"}
// Errors are spread deterministically (an accumulator, not a coin toss) so a 5% fault
// gives exactly 5 errors per 100 requests; tests can then assert exact counts.
import { createServer } from 'node:http'

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=')
    return [k, v]
  })
)
const slot = args.slot ?? 'blue'
const port = Number(args.port ?? 8080)
const state = {
  version: args.version ?? 'v1',
  errorRate: Number(args['error-rate'] ?? 0),
  latencyMs: Number(args['latency-ms'] ?? 0),
  healthy: args.healthy !== 'false'
}
let errorDebt = 0

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10]
/** @type {Map<string, number>} */
const requests = new Map()
/** @type {Map<string, number[]>} */
const buckets = new Map()
/** @type {Map<string, {sum: number, count: number}>} */
const totals = new Map()

function observe(path, status, seconds) {
  const key = `${path}\u0000${status}`
  requests.set(key, (requests.get(key) ?? 0) + 1)
  const counts = buckets.get(path) ?? BUCKETS.map(() => 0)
  BUCKETS.forEach((b, i) => {
    if (seconds <= b) counts[i]++
  })
  buckets.set(path, counts)
  const t = totals.get(path) ?? { sum: 0, count: 0 }
  t.sum += seconds
  t.count++
  totals.set(path, t)
}

function metrics() {
  const lines = [
    '# HELP http_requests_total Requests served, by status code.',
    '# TYPE http_requests_total counter'
  ]
  for (const [key, n] of requests) {
    const [path, status] = key.split('\u0000')
    lines.push(
      `http_requests_total{slot="${slot}",version="${state.version}",path="${path}",status="${status}"} ${n}`
    )
  }
  lines.push(
    '# HELP http_request_duration_seconds Request latency.',
    '# TYPE http_request_duration_seconds histogram'
  )
  for (const [path, counts] of buckets) {
    const l = `slot="${slot}",version="${state.version}",path="${path}"`
    BUCKETS.forEach((b, i) =>
      lines.push(`http_request_duration_seconds_bucket{${l},le="${b}"} ${counts[i]}`)
    )
    const t = totals.get(path) ?? { sum: 0, count: 0 }
    lines.push(`http_request_duration_seconds_bucket{${l},le="+Inf"} ${t.count}`)
    lines.push(`http_request_duration_seconds_sum{${l}} ${t.sum}`)
    lines.push(`http_request_duration_seconds_count{${l}} ${t.count}`)
  }
  lines.push(`# TYPE app_info gauge`, `app_info{slot="${slot}",version="${state.version}"} 1`)
  return lines.join('\n') + '\n'
}

// Counters exist from the start at 0: a series born with its first error would hide that error
// from increase() (Prometheus has no earlier sample to compare with).
for (const status of ['200', '500']) requests.set(`/\u0000${status}`, 0)
buckets.set(
  '/',
  BUCKETS.map(() => 0)
)
totals.set('/', { sum: 0, count: 0 })

const server = createServer((req, res) => {
  const started = process.hrtime.bigint()
  const url = new URL(req.url ?? '/', 'http://x')
  const finish = (status, body, type = 'text/plain') => {
    res.writeHead(status, { 'content-type': type, 'x-slot': slot, 'x-version': state.version })
    res.end(body)
    if (url.pathname === '/' || url.pathname.startsWith('/api')) {
      observe(
        url.pathname === '/' ? '/' : '/api',
        status,
        Number(process.hrtime.bigint() - started) / 1e9
      )
    }
  }
  if (url.pathname === '/metrics') return finish(200, metrics(), 'text/plain; version=0.0.4')
  if (url.pathname === '/healthz') {
    return state.healthy ? finish(200, `ok ${slot} ${state.version}\n`) : finish(503, 'unhealthy\n')
  }
  if (url.pathname === '/__control') {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      try {
        Object.assign(state, JSON.parse(body || '{}'))
        errorDebt = 0
        finish(200, JSON.stringify(state), 'application/json')
      } catch (e) {
        finish(400, String(e))
      }
    })
    return
  }
  const respond = () => {
    errorDebt += state.errorRate
    if (errorDebt >= 1 - 1e-9) {
      errorDebt -= 1
      return finish(500, `error from ${slot}\n`)
    }
    finish(200, `hello from ${slot} ${state.version}\n`)
  }
  if (state.latencyMs > 0) setTimeout(respond, state.latencyMs)
  else respond()
})
server.keepAliveTimeout = 65_000
server.listen(port, '127.0.0.1', () =>
  process.stdout.write(`sample app ${slot} listening on ${port}\n`)
)
process.on('SIGTERM', () => server.close(() => process.exit(0)))
