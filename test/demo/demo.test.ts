import { describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'

describe('the local demo (README command one)', () => {
  it('rehearses the whole pipeline on real services, exits 0 and leaves nothing behind', async () => {
    const before = new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('ops-demo-')))
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('npx', ['tsx', 'lab/demo.ts'], {
        cwd: new URL('../..', import.meta.url).pathname
      })
      let text = ''
      child.stdout.on('data', (d) => (text += d))
      child.stderr.on('data', (d) => (text += d))
      child.on('close', (c) => resolve({ code: c, out: text }))
    })
    expect(out).toMatch(/all steps passed/)
    expect(code).toBe(0)
    expect(out).toMatch(/green live: failed user requests: 0 of \d+/)
    expect(out).toMatch(/aborted: at \d+% after [\d.]+s: error rate/)
    expect(out).toMatch(/promoted: \d+ analyses passed/)
    expect(out).toMatch(/restorable: 1 tables, 5000 rows/)
    const left = readdirSync(tmpdir()).filter((d) => d.startsWith('ops-demo-') && !before.has(d))
    expect(left.filter((d) => existsSync(`${tmpdir()}/${d}`))).toEqual([])
  }, 300_000)
})
