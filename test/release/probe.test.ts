import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { probe } from '../../src/probe/http.js'
import { sampleTraffic } from '../../src/probe/sampler.js'

/**
 * A server that closes a kept-alive connection when its second request arrives (once), as an
 * old nginx worker does during a graceful reload.
 */
describe('probe: a reset of a reused keep-alive connection', () => {
  let server: Server
  let url: string
  let closes = 0
  let status = 200
  beforeAll(async () => {
    server = createServer((req, res) => {
      const socket = req.socket as typeof req.socket & { served?: number }
      socket.served = (socket.served ?? 0) + 1
      if (socket.served === 2 && closes === 0) {
        closes++
        socket.destroy()
        return
      }
      res.writeHead(status, { 'content-type': 'text/plain' })
      res.end('ok')
    })
    server.keepAliveTimeout = 30_000
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  })
  afterAll(() => {
    server.closeAllConnections()
    server.close()
  })

  it('is retried once and reported apart, not counted as the service failing', async () => {
    const results = []
    for (let i = 0; i < 6 && closes === 0; i++) results.push(await probe(url, 2000))
    expect(closes).toBe(1)
    expect(results.every((r) => r.ok)).toBe(true)
    expect(results[results.length - 1].resetRetried).toMatch(
      /UND_ERR_SOCKET|ECONNRESET|other side closed/
    )
  })

  it('an HTTP error after the retry is still an error', async () => {
    status = 503
    const r = await probe(url, 2000)
    expect(r.ok).toBe(false)
    expect(r.status).toBe(503)
  })
})

/**
 * After an nginx reload an old worker can keep answering on a reused connection: the sampler
 * judges only answers from the slot switched to, and counts the others apart.
 */
describe('sampleTraffic with expectSlot: old-slot answers are "not switched yet"', () => {
  let server: Server
  let url: string
  let served = 0
  beforeAll(async () => {
    // The first 4 answers come from the old slot (blue, failing), then the new one (green).
    server = createServer((_req, res) => {
      served++
      const old = served <= 4
      res.writeHead(old ? 500 : 200, { 'x-slot': old ? 'blue' : 'green' })
      res.end(old ? 'old' : 'new')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  })
  afterAll(() => {
    server.closeAllConnections()
    server.close()
  })

  it('leaves the old slot out of the verdict and says how many there were', async () => {
    const r = await sampleTraffic(url, {
      durationMs: 500,
      ratePerSecond: 40,
      timeoutMs: 2000,
      expectSlot: { header: 'x-slot', slot: 'green' }
    })
    expect(r.notSwitched).toBe(4)
    expect([r.failed, r.total]).toEqual([0, 16])
  })

  it('without expectSlot every answer counts (the old failures fail the window)', async () => {
    served = 0
    const r = await sampleTraffic(url, { durationMs: 500, ratePerSecond: 40, timeoutMs: 2000 })
    expect([r.failed, r.total, r.notSwitched]).toEqual([4, 20, 0])
  })
})
