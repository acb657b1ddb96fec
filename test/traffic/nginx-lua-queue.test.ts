// A cancel's undo (a second setWeights while the first is in progress) must wait for the change in
// progress, as NginxRouter's does: otherwise a slow first PUT lands after the undo and leaves the
// canary weights live while the file says stable. The admin endpoint is simulated (its dict in
// memory); the file operations are real.
import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NginxLuaRouter, renderLuaUpstream } from '../../src/traffic/nginx-lua.js'
import { LocalTransport, type Transport } from '../../src/traffic/transport.js'

describe('nginx-mode lua: one change at a time', () => {
  it('an undo started during a slow PUT wins (stable live and in the file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-lua-queue-'))
    const file = join(dir, 'app-upstream.conf')
    const options = {
      upstreamName: 'app',
      servers: { blue: ['127.0.0.1:8001'], green: ['127.0.0.1:8002'] },
      upstreamOptions: [],
      admin: join(dir, 'admin.sock')
    }
    writeFileSync(
      file,
      renderLuaUpstream(options, { blue: 100, green: 0 }, 'green', '2026-01-01T00:00:00.000Z')
    )
    let dict = '100 0 2026-01-01T00:00:00.000Z'
    let puts = 0
    const local = new LocalTransport()
    const transport: Transport = {
      name: 'fake-admin',
      close: async () => undefined,
      run: async (argv, o) => {
        if (argv[0] !== 'curl') return local.run(argv, o)
        if (argv.includes('PUT')) {
          const body = o?.input ?? ''
          if (++puts === 1) await new Promise((r) => setTimeout(r, 300)) // the first PUT is slow
          const m = /^blue=(\d+)&green=(\d+)&changed=(\S+)$/.exec(body)!
          dict = `${m[1]} ${m[2]} ${m[3]}`
        }
        const [b, g, c] = dict.split(' ')
        return {
          code: 0,
          stdout: `blue=${b}&green=${g}&changed=${c}\n200`,
          stderr: '',
          signal: null,
          timedOut: false,
          durationMs: 1
        }
      }
    }
    const router = new NginxLuaRouter({
      ...options,
      upstreamFile: file,
      testCommand: ['true'],
      reloadCommand: ['true'],
      transport
    })
    const step = router.setWeights(
      { blue: 50, green: 50 },
      { previous: 'blue', reason: 'canary 50%' }
    )
    await new Promise((r) => setTimeout(r, 100)) // SIGTERM arrives while the step's PUT is slow
    const undo = router.setWeights(
      { blue: 100, green: 0 },
      { previous: 'green', reason: 'cancelled' }
    )
    await Promise.allSettled([step, undo])
    expect((await router.read()).weights).toEqual({ blue: 100, green: 0 })
    expect(readFileSync(file, 'utf8')).toMatch(/# ops-actions: blue=100 green=0/)
  })

  it('a PUT the balancer does not obey (the loaded file is stamped later) leaves the file as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-lua-skew-'))
    const file = join(dir, 'app-upstream.conf')
    const options = {
      upstreamName: 'app',
      servers: { blue: ['127.0.0.1:8001'], green: ['127.0.0.1:8002'] },
      upstreamOptions: [],
      admin: join(dir, 'admin.sock')
    }
    // written and loaded by a runner whose clock was an hour ahead
    const ahead = new Date(Date.now() + 3_600_000).toISOString()
    const before = renderLuaUpstream(options, { blue: 100, green: 0 }, 'green', ahead)
    writeFileSync(file, before)
    const local = new LocalTransport()
    const transport: Transport = {
      name: 'fake-admin',
      close: async () => undefined,
      // the dict takes the PUT, but its stamp is older than the loaded file's: blue stays live
      run: async (argv, o) =>
        argv[0] !== 'curl'
          ? local.run(argv, o)
          : {
              code: 0,
              stdout: `blue=100&green=0&changed=${ahead}\n200`,
              stderr: '',
              signal: null,
              timedOut: false,
              durationMs: 1
            }
    }
    const router = new NginxLuaRouter({
      ...options,
      upstreamFile: file,
      testCommand: ['true'],
      reloadCommand: ['true'],
      transport
    })
    await expect(
      router.setWeights({ blue: 0, green: 100 }, { previous: 'blue', reason: 'switch' })
    ).rejects.toThrow(/file restored/)
    // otherwise the next reload (a certificate renewal) silently moves all traffic to green
    expect(readFileSync(file, 'utf8')).toBe(before)
  })
})
