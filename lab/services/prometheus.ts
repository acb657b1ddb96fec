import { writeFileSync } from 'node:fs'
import type { Lab } from '../lab.js'
import { freePort, withFreshPorts } from '../ports.js'
import { httpOk, type ManagedProcess } from '../process.js'

export interface PrometheusOptions {
  /** Scrape targets (host:port) of the sample app, with their slot label. */
  targets: { address: string; labels?: Record<string, string> }[]
  scrapeInterval?: string
  ruleFiles?: string[]
  name?: string
}

export interface PrometheusInstance {
  port: number
  url: string
  process: ManagedProcess
  /** Instant query; returns the raw API JSON. */
  query(promql: string): Promise<unknown>
  /** Waits until every target was scraped successfully at least once. */
  waitForTargets(timeoutMs?: number): Promise<void>
}

async function startPrometheusOnce(
  lab: Lab,
  options: PrometheusOptions
): Promise<PrometheusInstance> {
  const name = options.name ?? 'prometheus'
  const dir = lab.mkdir(name)
  const port = await freePort()
  const interval = options.scrapeInterval ?? '1s'
  const targets = options.targets
    .map(
      (t) => `      - targets: ['${t.address}']\n        labels: ${JSON.stringify(t.labels ?? {})}`
    )
    .join('\n')
  const rules = (options.ruleFiles ?? []).map((f) => `  - ${f}`).join('\n')
  writeFileSync(
    `${dir}/prometheus.yml`,
    `global:
  scrape_interval: ${interval}
  evaluation_interval: ${interval}
${rules ? `rule_files:\n${rules}\n` : ''}scrape_configs:
  - job_name: app
    static_configs:
${targets}
`
  )
  const proc = lab.spawn(name, [
    'prometheus',
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-lifecycle',
    '--storage.tsdb.retention.time=1h'
  ])
  const url = `http://127.0.0.1:${port}`
  await proc.waitReady(() => httpOk(`${url}/-/ready`), 30_000)
  const query = async (promql: string): Promise<unknown> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)
    return res.json()
  }
  return {
    port,
    url,
    process: proc,
    query,
    async waitForTargets(timeoutMs = 20_000) {
      await proc.waitReady(async () => {
        const res = await fetch(`${url}/api/v1/targets`)
        const body = (await res.json()) as { data: { activeTargets: { health: string }[] } }
        const active = body.data.activeTargets
        return active.length === options.targets.length && active.every((t) => t.health === 'up')
      }, timeoutMs)
    }
  }
}

/** startPrometheusOnce on a free port, picked again if another process took it meanwhile. */
export function startPrometheus(lab: Lab, options: PrometheusOptions): Promise<PrometheusInstance> {
  return withFreshPorts(() => startPrometheusOnce(lab, options))
}
