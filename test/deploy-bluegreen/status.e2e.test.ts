import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { haproxyLab, type Slots } from './helpers.js'
import type { HaproxyInstance } from '../../lab/services/haproxy.js'

describe('deploy-bluegreen mode: status (bundle through the runner protocol, real HAProxy)', () => {
  const lab = Lab.create()
  let app: Slots
  let haproxy: HaproxyInstance
  beforeAll(async () => ({ app, haproxy } = await haproxyLab(lab, { live: 'green' })))
  afterAll(() => lab.stop())

  it('reads the live slot from HAProxy and writes outputs and a summary', async () => {
    const result = await runAction('deploy-bluegreen', {
      router: 'haproxy',
      mode: 'status',
      'haproxy-socket': haproxy.socket
    })
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.outputs['live-slot']).toBe('green')
    expect(result.outputs['previous-slot']).toBe('blue')
    expect(result.summary).toContain('green live')
    expect(result.summary).toContain('blue 0% / green 100%')
    expect(app.green.port).toBeGreaterThan(0)
  })

  it('fails with exit code 3 and a clear message when HAProxy is unreachable', async () => {
    const result = await runAction('deploy-bluegreen', {
      router: 'haproxy',
      mode: 'status',
      'haproxy-socket': `${lab.dir}/no-such.sock`
    })
    expect(result.exitCode).toBe(3)
    const error = result.annotations.find((a) => a.level === 'error')
    expect(error?.message).toMatch(/Could not run: .*runtime API unreachable/)
  })
})
