import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Lab } from '../../lab/lab.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { MANIFEST_ACCEPT } from '../../src/image/media-types.js'
import { promoteImage } from '../../src/image/promote.js'
import { RegistryClient } from '../../src/image/registry-client.js'
import { fetchRaw, pushImage } from './upload.js'

interface Pace {
  chunk: number
  everyMs: number
  /** Stop sending after this many bytes of a blob, for this long (a stalled connection). */
  stallAfter?: number
  stallMs?: number
}

/**
 * A slow link in front of a real registry: blob bodies are sent a few KB at a time, so a
 * download takes longer than the idle timeout while never idling that long (or, with
 * `stallAfter`, stops mid-body).
 */
function startSlowProxy(backend: Registry, pace: Pace): Promise<{ host: string; server: Server }> {
  const server = createServer((req, res) => {
    const upstream = request(
      `${backend.url}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: backend.host } },
      (up) => {
        res.writeHead(up.statusCode!, up.headers)
        if (!/\/blobs\/sha256:/.test(req.url!) || req.method !== 'GET') return up.pipe(res)
        const parts: Buffer[] = []
        up.on('data', (c: Buffer) => parts.push(c))
        up.on('end', () => {
          const body = Buffer.concat(parts)
          let sent = 0
          const next = (): void => {
            if (res.destroyed) return
            if (sent >= body.length) return void res.end()
            const stall =
              pace.stallAfter !== undefined &&
              sent >= pace.stallAfter &&
              sent - pace.chunk < pace.stallAfter
            res.write(body.subarray(sent, sent + pace.chunk))
            sent += pace.chunk
            setTimeout(next, stall ? pace.stallMs! : pace.everyMs).unref()
          }
          next()
        })
      }
    )
    req.pipe(upstream)
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ host: `127.0.0.1:${(server.address() as AddressInfo).port}`, server })
    )
  )
}

describe('blob copies are bounded by an idle timeout, not a total one (real registries)', () => {
  let lab: Lab
  let staging: Registry
  let production: Registry
  const servers: Server[] = []

  beforeAll(async () => {
    lab = Lab.create()
    staging = await startRegistry(lab, 'staging')
    production = await startRegistry(lab, 'production')
  })
  afterAll(async () => {
    for (const s of servers) s.closeAllConnections()
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
    await lab.stop()
  })

  it('a layer that trickles in for longer than the timeout, but never stops, is copied whole', async () => {
    const image = await pushImage(staging, 'team/slow', 'candidate', {
      layers: 1,
      layerBytes: 200_000
    })
    const slow = await startSlowProxy(staging, { chunk: 8000, everyMs: 150 })
    servers.push(slow.server)
    // 25 chunks 150 ms apart (about 3.7 s) under a 2.5 s idle timeout: a loaded machine may
    // stall this process for a while between chunks without the copy going idle
    const idleTimeoutMs = 2500
    const started = Date.now()
    const result = await promoteImage(
      {
        client: new RegistryClient(slow.host, undefined, undefined, { idleTimeoutMs }),
        repository: 'team/slow',
        reference: image.digest
      },
      {
        client: new RegistryClient(production.host, undefined, undefined, { idleTimeoutMs }),
        repository: 'prod/slow'
      },
      ['1']
    )
    // The setting of this test, not a timing claim: the copy outlasted what a total bound of
    // the same size would have allowed.
    expect(Date.now() - started).toBeGreaterThan(idleTimeoutMs)
    expect(result.blobs.copied).toBe(2)
    for (const blob of image.blobs) {
      const copied = await fetchRaw(production, `/v2/prod/slow/blobs/${blob.digest}`)
      expect(copied.digest).toBe(blob.digest)
      expect(copied.bytes.length).toBe(blob.size)
    }
  })

  it('a download that stops moving fails after the idle timeout, saying so, and tags nothing', async () => {
    const image = await pushImage(staging, 'team/stall', 'candidate', {
      layers: 1,
      layerBytes: 64_000
    })
    const stalled = await startSlowProxy(staging, {
      chunk: 8000,
      everyMs: 10,
      stallAfter: 16_000,
      stallMs: 4000
    })
    servers.push(stalled.server)
    await expect(
      promoteImage(
        {
          client: new RegistryClient(stalled.host, undefined, undefined, { idleTimeoutMs: 1000 }),
          repository: 'team/stall',
          reference: image.digest
        },
        { client: new RegistryClient(production.host), repository: 'prod/stall' },
        ['1']
      )
    ).rejects.toThrow(
      /download of sha256:[0-9a-f]{64} from 127\.0\.0\.1:\d+: no data for 1s, gave up \(idle timeout\)/
    )
    const tag = await fetchRaw(production, '/v2/prod/stall/manifests/1', MANIFEST_ACCEPT)
    expect(tag.status).toBe(404)
  })
})
