import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { startApp } from '../../lab/services/app.js'
import type { HaproxyInstance } from '../../lab/services/haproxy.js'
import { haproxyInputs, haproxyLab, slotCounts, type Slots } from './helpers.js'

const errorOf = (r: { annotations: { level: string; message: string }[] }): string =>
  r.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n')

/**
 * A hook as an argument list: node writes which slot it was told (OPS_*) and which slot answered
 * through HAProxy at that moment, then exits with `code`.
 */
function hook(url: string, file: string, code = 0): string {
  const script =
    `fetch(${JSON.stringify(url)}).then(r => { require('fs').writeFileSync(${JSON.stringify(file)}, ` +
    `[process.env.OPS_MODE, process.env.OPS_SLOT, process.env.OPS_PREVIOUS_SLOT, r.headers.get('x-slot')].join(' ')); ` +
    `if (${code}) { console.error('migration failed: relation "orders" already exists'); process.exit(${code}) } })`
  return JSON.stringify([process.execPath, '-e', script])
}

describe('deploy-bluegreen pre-switch-command / post-switch-command on real HAProxy (bundle)', () => {
  const lab = Lab.create()
  let app: Slots
  let lb: HaproxyInstance
  let dir: string

  beforeAll(async () => {
    app = await startApp(lab)
    ;({ haproxy: lb } = await haproxyLab(lab, { app }))
    dir = mkdtempSync(join(tmpdir(), 'hooks-'))
  })
  afterAll(() => lab.stop())
  beforeEach(async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
  })
  const seen = (name: string): string => readFileSync(join(dir, name), 'utf8')

  it('pre-switch runs before the switch (old slot still serving), post-switch after it', async () => {
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'pre-switch-command': hook(lb.url, join(dir, 'pre-ok')),
        'post-switch-command': hook(lb.url, join(dir, 'post-ok'))
      })
    )
    expect(errorOf(r)).toBe('')
    expect(r.outputs).toMatchObject({ 'live-slot': 'green', switched: 'true' })
    expect(seen('pre-ok')).toBe('deploy green blue blue')
    expect(seen('post-ok')).toBe('deploy green blue green')
  })

  it('a failing pre-switch command leaves traffic untouched (no health gate, no switch)', async () => {
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'pre-switch-command': hook(lb.url, join(dir, 'pre-fail'), 4)
      })
    )
    expect(r.exitCode).toBe(3)
    expect(errorOf(r)).toMatch(
      /pre-switch-command `.*` exited with 4: migration failed: relation "orders" already exists\. No switch: traffic stays on blue 100% \/ green 0%/
    )
    expect(r.outputs).toMatchObject({ switched: 'false', 'live-slot': 'blue' })
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('a failing post-switch command rolls a deploy back, like a failed verification', async () => {
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'post-switch-command': hook(lb.url, join(dir, 'post-fail'), 1)
      })
    )
    expect(r.exitCode).toBe(1)
    expect(errorOf(r)).toMatch(
      /post-switch-command failed after the switch to green: post-switch-command `.*` exited with 1: migration failed.*Rolled back: blue 100% \/ green 0%/
    )
    expect(seen('post-fail')).toBe('deploy green blue green')
    expect(r.outputs).toMatchObject({ 'rolled-back': 'true', 'live-slot': 'blue' })
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('a post-switch command that cannot start is a failure too (rolled back)', async () => {
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'post-switch-command': '["/nonexistent/alembic", "upgrade", "head"]'
      })
    )
    expect(r.exitCode).toBe(1)
    expect(errorOf(r)).toMatch(/\/nonexistent\/alembic.*Rolled back/)
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('with auto-rollback false, or in a rollback, a failing post-switch leaves traffic where it went', async () => {
    const kept = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'auto-rollback': 'false',
        'post-switch-command': hook(lb.url, join(dir, 'post-kept'), 1)
      })
    )
    expect(kept.exitCode).toBe(1)
    expect(errorOf(kept)).toMatch(/auto-rollback is false, so traffic stays on green/)
    expect(await slotCounts(lb.url)).toEqual({ green: 20 })

    const back = await runAction('deploy-bluegreen', {
      ...haproxyInputs(app, [lb.socket]),
      mode: 'rollback',
      'post-switch-command': hook(lb.url, join(dir, 'post-rollback'), 1)
    })
    expect(back.exitCode).toBe(1)
    expect(seen('post-rollback')).toBe('rollback blue green blue')
    expect(errorOf(back)).toMatch(/This was a rollback, so it is not reversed/)
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('a hook given as a shell string is split into words, never run by a shell', async () => {
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'dry-run': 'false',
        'pre-switch-command': `${process.execPath} -e process.exit(0) ; touch ${join(dir, 'pwned')}`
      })
    )
    // node gets "; touch <file>" as extra arguments; no shell ever creates the file
    expect(() => readFileSync(join(dir, 'pwned'))).toThrow()
    expect(r.outputs['live-slot']).toBe('green')
  })
})
