/**
 * Scenario 5: the weekly scan template (schedule) under act. With findings: the gate fails the
 * run, each scan's SARIF reaches the code-scanning upload under its own category, and one
 * tracking issue per target is opened; the next, clean run closes them.
 * Faked: trivy (test/fixtures/scan/fake-trivy.mjs answering with real Trivy reports; the real
 * binary cannot download its DB offline) and the GitHub API (test/fakes/github-api.ts).
 * Stand-ins: checkout, codeql-action/upload-sarif (posts to the fake API).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { jobResult, runAct } from '../../lab/act.js'
import { startFakeGitHubApi, type FakeGitHubApi } from '../fakes/github-api.js'
import { explain, fakeTrivyEnv, fakeTrivyPath, removeTempDirs, templateCaller } from './helpers.js'

// Each act run has its own limit (300 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(360_000)

describe('weekly scan template under act (host mode)', () => {
  let api: FakeGitHubApi
  beforeAll(async () => {
    api = await startFakeGitHubApi()
  })
  afterAll(async () => {
    await api.close()
    removeTempDirs()
  })

  const run = (report: string) =>
    runAct({
      callerFiles: {
        '.github/workflows/security-weekly.yml': templateCaller('security-weekly', {
          'trivy-path': fakeTrivyPath()
        }),
        'package.json': '{"name":"shop","version":"1.0.0"}\n'
      },
      workflow: '.github/workflows/security-weekly.yml',
      event: 'schedule',
      vars: { IMAGE: '127.0.0.1:5000/shop' },
      apiUrl: api.url,
      token: api.token,
      env: fakeTrivyEnv(report),
      timeoutMs: 300_000
    })

  it('fails on findings, uploads one SARIF per scan, opens one issue per target', async () => {
    const result = await run('trivy-image-debian-buster-critical-and-unfixed.json')
    expect(result.exitCode).not.toBe(0)
    expect(jobResult(result, 'image')).toBe('failure')
    const categories = api.sarifs.map((s) => s.category).sort()
    if (categories.length !== 3) throw new Error(explain(result))
    expect(categories).toEqual(['trivy-config', 'trivy-fs', 'trivy-image'])
    for (const s of api.sarifs) {
      expect(s.repo).toBe('acme/shop')
      expect(s.sarif.runs?.[0]?.results?.length ?? 0).toBeGreaterThan(0)
    }
    const open = api.issues.filter((i) => i.state === 'open')
    expect(open).toHaveLength(3)
    // One issue per target (image, fs, config): each carries its own hidden marker.
    expect(new Set(open.map((i) => /<!--[^>]*-->/.exec(i.body)?.[0])).size).toBe(3)
  })

  it('closes the tracking issues on a clean run', async () => {
    const uploads = api.sarifs.length
    const result = await run('trivy-image-slmicro-clean-zero-vulns.json')
    if (result.exitCode !== 0) throw new Error(explain(result))
    expect(api.sarifs.length).toBe(uploads + 3)
    expect(api.issues.map((i) => i.state)).toEqual(['closed', 'closed', 'closed'])
    expect(api.issues.every((i) => i.comments.length === 1)).toBe(true)
  })
})
