/** Contract test of the issue sync against a fake GitHub REST API on 127.0.0.1. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { getOctokit } from '@actions/github'
import { Lab } from '../../lab/lab.js'
import { ToolError } from '../../src/core/errors.js'
import { issueMarker, SCAN_ISSUE_LABEL, syncScanIssue } from '../../src/github/issues.js'
import { normaliseTargetKey } from '../../src/scan/target.js'
import { startFakeGitHub, type FakeGitHub } from './fake-github.js'

const TOKEN = 'ghs_fakeTokenForTests000000000000000000'
let lab: Lab
let github: FakeGitHub

const request = (overrides: Partial<Parameters<typeof syncScanIssue>[1]> = {}) => ({
  owner: 'example-org',
  repo: 'example-service',
  key: 'image:ghcr.io/acme/api:latest',
  title: 'Security scan: 2 finding(s) in ghcr.io/acme/api:latest',
  body: '| CRITICAL | 1 |',
  clean: false,
  runUrl: 'https://github.com/example-org/example-service/actions/runs/7',
  ...overrides
})

beforeAll(async () => {
  lab = Lab.create('scan-issues-')
  github = await startFakeGitHub(lab, 'fake-github', TOKEN)
  // noise the sync must not touch: a PR with the same marker and another target's issue
  await github.seed([
    {
      state: 'open',
      title: 'PR',
      body: issueMarker('image:ghcr.io/acme/api:latest'),
      labels: [{ name: SCAN_ISSUE_LABEL }],
      pull_request: {}
    },
    {
      state: 'open',
      title: 'other',
      body: issueMarker('fs:.'),
      labels: [{ name: SCAN_ISSUE_LABEL }]
    },
    ...Array.from({ length: 120 }, (_, i) => ({
      state: 'open',
      title: `filler ${i}`,
      body: 'x',
      labels: [{ name: SCAN_ISSUE_LABEL }]
    }))
  ])
})
afterAll(async () => {
  await lab.stop()
})

describe('one issue per scan target', () => {
  const octokit = () => getOctokit(TOKEN, { baseUrl: github.url })

  it('opens an issue with the findings, the marker and the label', async () => {
    const outcome = await syncScanIssue(octokit(), request())
    expect(outcome.action).toBe('created')
    const issue = (await github.state()).issues.find((i) => i.number === outcome.number)!
    expect(issue.title).toBe('Security scan: 2 finding(s) in ghcr.io/acme/api:latest')
    expect(issue.body).toContain('| CRITICAL | 1 |')
    expect(issue.body).toContain(issueMarker('image:ghcr.io/acme/api:latest'))
    expect(issue.body).toContain('actions/runs/7')
    expect(issue.labels).toEqual([{ name: SCAN_ISSUE_LABEL }])
  })

  it('updates the same issue on the next run (found past the first page), never a duplicate', async () => {
    const outcome = await syncScanIssue(
      octokit(),
      request({ title: 'Security scan: 1 finding(s) in x', body: '| HIGH | 1 |' })
    )
    expect(outcome.action).toBe('updated')
    const state = await github.state()
    const mine = state.issues.filter(
      (i) => !i.pull_request && i.body.includes(issueMarker('image:ghcr.io/acme/api:latest'))
    )
    expect(mine).toHaveLength(1)
    expect(mine[0].body).toContain('| HIGH | 1 |')
    expect(mine[0].title).toBe('Security scan: 1 finding(s) in x')
    expect(
      state.requests.filter((r) => r.startsWith('GET') && r.includes('page=2')).length
    ).toBeGreaterThan(0)
  })

  it('closes it with a comment once the target is clean, and then does nothing', async () => {
    const outcome = await syncScanIssue(octokit(), request({ clean: true }))
    expect(outcome.action).toBe('closed')
    const state = await github.state()
    const issue = state.issues.find((i) => i.number === outcome.number)!
    expect(issue.state).toBe('closed')
    expect(issue.state_reason).toBe('completed')
    expect(state.comments.at(-1)).toEqual({
      issue: outcome.number,
      body: expect.stringContaining('No findings at the gate')
    })
    expect((await syncScanIssue(octokit(), request({ clean: true }))).action).toBe('none')
    // the other target's issue and the PR are untouched
    expect(
      state.issues.filter((i) => i.state === 'open' && i.body.includes('ops-actions'))
    ).toHaveLength(2)
  })

  it('takes over the issues older runs opened per tag: one stays (updated), the rest close', async () => {
    await github.seed(
      ['1.2.3', '1.2.4'].map((tag) => ({
        state: 'open',
        title: `Security scan: 3 finding(s) in ghcr.io/acme/web:${tag}`,
        body: `old\n${issueMarker(`image:ghcr.io/acme/web:${tag}`)}`,
        labels: [{ name: SCAN_ISSUE_LABEL }]
      }))
    )
    const before = (await github.state()).issues.filter((i) =>
      i.body.includes('ghcr.io%2Facme%2Fweb%3A1.2')
    )
    expect(before).toHaveLength(2)
    const key = normaliseTargetKey('image:ghcr.io/acme/web:1.2.5')
    expect(key).toBe('image:ghcr.io/acme/web')
    const sameTarget = (k: string) => normaliseTargetKey(k) === key
    const outcome = await syncScanIssue(
      octokit(),
      request({ key, sameTarget, title: 'Security scan: 1 finding(s) in ghcr.io/acme/web:1.2.5' })
    )
    expect(outcome).toMatchObject({ action: 'updated', number: before[0].number })
    const state = await github.state()
    const kept = state.issues.find((i) => i.number === before[0].number)!
    expect(kept.state).toBe('open')
    expect(kept.body).toContain(issueMarker('image:ghcr.io/acme/web'))
    const dup = state.issues.find((i) => i.number === before[1].number)!
    expect(dup.state).toBe('closed')
    expect(dup.state_reason).toBe('not_planned')
    expect(state.comments).toContainEqual({
      issue: dup.number,
      body: expect.stringContaining(`Tracked in #${kept.number}`)
    })
    // and the next tag's clean scan closes the one that stayed
    const closed = await syncScanIssue(octokit(), request({ key, sameTarget, clean: true }))
    expect(closed).toMatchObject({ action: 'closed', number: kept.number })
    // another image of the same name elsewhere is another target
    expect(sameTarget('image:docker.io/acme/web:1.2.3')).toBe(false)
  })

  it('cuts a huge body to fit GitHub and keeps the marker', async () => {
    const outcome = await syncScanIssue(
      octokit(),
      request({ key: 'fs:huge', body: 'x'.repeat(200_000) })
    )
    const issue = (await github.state()).issues.find((i) => i.number === outcome.number)!
    expect(issue.body.length).toBeLessThanOrEqual(65_536)
    expect(issue.body).toContain(issueMarker('fs:huge'))
  })

  it('a token without issues: write is a ToolError that says so', async () => {
    const readOnly = await startFakeGitHub(lab, 'fake-github-ro', TOKEN, true)
    const sync = syncScanIssue(getOctokit(TOKEN, { baseUrl: readOnly.url }), request())
    await expect(sync).rejects.toThrow(ToolError)
    await expect(
      syncScanIssue(getOctokit(TOKEN, { baseUrl: readOnly.url }), request())
    ).rejects.toThrow(/needs `issues: write`/)
  })
})
