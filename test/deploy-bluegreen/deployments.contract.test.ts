import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import type { HaproxyInstance } from '../../lab/services/haproxy.js'
import { startFakeGitHub } from '../fakes/github-deployments.js'
import { haproxyInputs, haproxyLab, type Slots } from './helpers.js'

// Contract test: GitHub's API cannot run here. The fake records what the bundle sends.
describe('deploy-bluegreen records a GitHub Deployment (contract, fake GitHub API)', () => {
  const lab = Lab.create()
  const token = 'ghs_fakeTokenForTheContractTest123'
  let app: Slots
  let lb: HaproxyInstance
  let gh: Awaited<ReturnType<typeof startFakeGitHub>>
  beforeAll(async () => {
    ;({ app, haproxy: lb } = await haproxyLab(lab))
    gh = await startFakeGitHub(token)
  })
  afterAll(async () => {
    await gh.close()
    await lab.stop()
  })

  const run = (extra: Record<string, string> = {}) =>
    runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'github-token': token,
        environment: 'production',
        'environment-url': 'https://shop.example.com',
        ...extra
      }),
      { env: { GITHUB_API_URL: gh.url } }
    )

  it('creates the deployment, reports in_progress then success, and marks the superseded one inactive', async () => {
    const first = await run()
    expect(first.exitCode).toBe(0)
    expect(first.outputs['deployment-id']).toBe('1')
    const second = await run()
    expect(second.exitCode).toBe(0)
    expect(second.outputs['deployment-id']).toBe('2')
    const [d1, d2] = gh.deployments
    expect(d2.payload).toMatchObject({
      environment: 'production',
      auto_merge: false,
      required_contexts: [],
      production_environment: true,
      ref: '0123456789abcdef0123456789abcdef01234567'
    })
    expect(d2.statuses.map((s) => s.state)).toEqual(['in_progress', 'success'])
    expect(d2.statuses[1].environment_url).toBe('https://shop.example.com')
    expect(d2.statuses[1].log_url).toBe(
      'https://github.com/example-org/example-service/actions/runs/1'
    )
    expect(d1.statuses.map((s) => s.state)).toEqual(['in_progress', 'success', 'inactive'])
    // The token never reaches the log.
    expect(
      second.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n')
    ).not.toContain(token)
  })

  it('reports failure when the switch is refused', async () => {
    await app.blue.control({ healthy: false })
    await app.green.control({ healthy: false })
    const r = await run({ 'health-timeout': '500ms' })
    await app.blue.control({ healthy: true })
    await app.green.control({ healthy: true })
    expect(r.exitCode).toBe(1)
    const last = gh.deployments[gh.deployments.length - 1]
    expect(last.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure'])
    expect(last.statuses[1].description).toMatch(/Check failed: slot \w+ is not healthy/)
  })

  it('goes on with the switch, with a warning, when the API is unavailable', async () => {
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], { 'github-token': token, environment: 'staging' }),
      {
        env: { GITHUB_API_URL: 'http://127.0.0.1:9' }
      }
    )
    expect(r.exitCode).toBe(0)
    expect(r.annotations.find((a) => a.level === 'warning')?.message).toMatch(
      /GitHub deployment not recorded/
    )
    expect(r.outputs['deployment-id']).toBe('')
  })
})
