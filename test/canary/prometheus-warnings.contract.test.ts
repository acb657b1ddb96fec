// Contract test: a stand-in Prometheus answers with `warnings` (a partial result, as Thanos or a
// federated setup does when a store is down), which a single real Prometheus cannot be made to do.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PrometheusClient } from '../../src/slo/prometheus.js'

describe('Prometheus warnings are no data, never a pass', () => {
  let server: Server
  let url: string
  beforeAll(async () => {
    server = createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          status: 'success',
          warnings: ['store 10.0.0.7:10901 unavailable: partial response'],
          data: { resultType: 'vector', result: [{ metric: {}, value: [1, '0'] }] }
        })
      )
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => {
    server.close()
  })

  it('a zero error count from a partial answer is refused, with the warning', async () => {
    const client = new PrometheusClient({ url, timeoutMs: 2000 })
    await expect(client.query('sum(errors)')).rejects.toThrow(
      /answered with warnings \(a partial result\): store 10\.0\.0\.7:10901 unavailable/
    )
  })
})
