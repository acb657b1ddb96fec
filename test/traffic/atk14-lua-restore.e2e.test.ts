import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { slotCounts } from '../../lab/slots.js'
import { startApp, type AppSlot } from '../../lab/services/app.js'
import { startNginx, type NginxInstance } from '../../lab/services/nginx.js'
import { NginxLuaRouter, renderLuaUpstream } from '../../src/traffic/nginx-lua.js'
import { LocalTransport } from '../../src/traffic/transport.js'

const PATH = `${process.env.PATH}:/usr/sbin`

function nginxCheck(argv: string[]): { status: number | null; output: string } {
  const r = spawnSync('nginx', argv, { encoding: 'utf8', env: { ...process.env, PATH } })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

describe('atk14: nginx-mode lua and a file restored by hand from a backup', () => {
  const lab = Lab.create('ops-nginx-lua-atk14-')
  let app: Record<'blue' | 'green', AppSlot>
  let nginx: NginxInstance
  let router: NginxLuaRouter
  beforeAll(async () => {
    app = await startApp(lab)
    const options = {
      upstreamName: 'app',
      servers: { blue: [`127.0.0.1:${app.blue.port}`], green: [`127.0.0.1:${app.green.port}`] },
      upstreamOptions: ['keepalive 16;'],
      admin: join(lab.path(), 'nginx-admin.sock')
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
  })
  afterAll(() => lab.stop())

  // KNOWN DEFECT (atk14): the dict's stamp beats the older stamp of the restored file, so a reload
  // keeps the canary split (a restart, which empties the dict, would go to blue). it.failing until fixed.
  it.failing(
    'an operator restores the pre-canary file and reloads: traffic goes back to blue',
    async () => {
      await router.setWeights({ blue: 100, green: 0 }, { previous: 'green', reason: 'baseline' })
      copyFileSync(nginx.upstreamFile, `${nginx.upstreamFile}.bak`) // the known-good file
      await router.setWeights({ blue: 50, green: 50 }, { previous: 'blue', reason: 'canary 50%' })
      // incident: the runner is gone; the operator puts the backup back and reloads, as in reload mode
      copyFileSync(`${nginx.upstreamFile}.bak`, nginx.upstreamFile)
      expect(nginxCheck(nginx.reloadCommand.slice(1)).status).toBe(0)
      await new Promise((r) => setTimeout(r, 500))
      const seen = await slotCounts(nginx.url, 40)
      expect(seen).toEqual({ blue: 40 })
    }
  )
})
