/**
 * release.yml's move-major-tag step, its `run:` script executed by bash as the runner runs it
 * (`bash --noprofile --norc -eo pipefail`), with a fake `gh` on PATH standing in for GitHub's API
 * (gh is not installed here). GitHub can refuse the ref update even with `contents: write` (a tag
 * ruleset; GITHUB_TOKEN, which never has the `workflows` permission, when the commits vX moves
 * over change .github/workflows): the step must then fail saying so and what to do, and it
 * must use MAJOR_TAG_TOKEN when one is given.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'

const root = new URL('../..', import.meta.url).pathname
const SHA = 'a'.repeat(40)

interface Job {
  permissions?: Record<string, string>
  steps: { name?: string; run?: string; env?: Record<string, string> }[]
}
const workflow = parse(readFileSync(join(root, '.github/workflows/release.yml'), 'utf8')) as {
  jobs: Record<string, Job>
}
const job = workflow.jobs['move-major-tag']
const step = job.steps.find((s) => s.run?.includes('git/refs'))!

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A fake gh: answers the reads, refuses or accepts the ref update, logs calls and GH_TOKEN. */
function fakeGh(dir: string, refuse: string): void {
  writeFileSync(
    join(dir, 'gh'),
    `#!/bin/sh
echo "GH_TOKEN=$GH_TOKEN $*" >> "${dir}/calls.log"
case "$*" in
  *compare/main...*) echo identical ;;
  *"/tags --paginate"*) echo v1.2.0; echo v1.3.0 ;;
  *git/ref/tags/v1) echo '{"ref":"refs/tags/v1"}' ;;
  *"-X PATCH"*|*"-X POST"*)
    if [ -n "${refuse}" ]; then echo '${refuse}' >&2; exit 1; fi
    echo '{}' ;;
  *) echo "unexpected gh $*" >&2; exit 3 ;;
esac
`
  )
  chmodSync(join(dir, 'gh'), 0o755)
}

function runStep(refuse: string, token: { kind: string; value: string }) {
  const dir = mkdtempSync(join(tmpdir(), 'ops-release-tag-'))
  dirs.push(dir)
  fakeGh(dir, refuse)
  const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {
    encoding: 'utf8',
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      RUNNER_TEMP: dir,
      GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
      GH_TOKEN: token.value,
      TOKEN_KIND: token.kind,
      TAG: 'v1.4.0',
      SHA,
      REPO: 'example-org/ops-actions'
    },
    timeout: 20_000
  })
  const calls = readFileSync(join(dir, 'calls.log'), 'utf8')
  return { status: result.status, stdout: result.stdout, calls }
}

const GITHUB_TOKEN = { kind: 'GITHUB_TOKEN', value: 'ghs_runtoken' }

describe('release.yml move-major-tag', () => {
  it('asks for contents: write and nothing else, and takes MAJOR_TAG_TOKEN when given', () => {
    expect(job.permissions).toEqual({ contents: 'write' })
    expect(step.env?.GH_TOKEN).toBe('${{ secrets.MAJOR_TAG_TOKEN || github.token }}')
  })

  it('moves v1 to the release', () => {
    const run = runStep('', GITHUB_TOKEN)
    expect(run.status).toBe(0)
    expect(run.calls).toMatch(
      new RegExp(`-X PATCH repos/example-org/ops-actions/git/refs/tags/v1 -f sha=${SHA}`)
    )
    expect(run.stdout).toContain(`moved v1 to v1.4.0 (${SHA})`)
  })

  it.each([
    [
      'the workflows permission GITHUB_TOKEN never has',
      'gh: refusing to allow a GitHub App to create or update workflow `.github/workflows/ci.yml` without `workflows` permission (HTTP 422)'
    ],
    [
      'a ruleset or missing contents: write',
      'gh: Resource not accessible by integration (HTTP 403)'
    ]
  ])('a refusal (%s) fails with what GitHub said, why, and what to do', (_why, refusal) => {
    const run = runStep(refusal, GITHUB_TOKEN)
    expect(run.status).toBe(1)
    const error = run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? ''
    expect(error).toContain('GitHub refused to move v1 to v1.4.0 with GITHUB_TOKEN')
    expect(error).toContain(refusal)
    expect(error).toMatch(/contents: write/)
    expect(error).toMatch(/workflows permission/)
    expect(error).toMatch(/MAJOR_TAG_TOKEN/)
    expect(error).toContain(`git push --force origin ${SHA}:refs/tags/v1`)
    expect(run.stdout).not.toContain('moved v1')
  })

  it('names the token it used when the refusal comes with MAJOR_TAG_TOKEN', () => {
    const run = runStep('gh: Resource not accessible by integration (HTTP 403)', {
      kind: 'MAJOR_TAG_TOKEN',
      value: 'ghs_apptoken'
    })
    expect(run.status).toBe(1)
    expect(run.stdout).toContain('with MAJOR_TAG_TOKEN')
    expect(run.calls).toMatch(/GH_TOKEN=ghs_apptoken api -X PATCH/)
  })
})
