/**
 * Every workflow, starter template and action.yml of this repository through every checker:
 * GitHub's parser, actionlint, our rules, and the call contracts. The checks run in a child
 * process under tsx (`node --import tsx`), because @actions/workflow-parser imports its JSON
 * schema without an import attribute (actions/languageservices#387) and jest only tolerates that
 * with a deprecation warning. The bad fixture repository proves each checker reports.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import type { RepoReport } from '../../tools/workflow-lint/lint-repo.js'

const root = new URL('../..', import.meta.url).pathname
const fixture = join(root, 'test/workflows/fixtures/bad-repo')

async function lint(dir: string): Promise<RepoReport> {
  const cli = join(root, 'tools/workflow-lint/cli.ts')
  const run = promisify(execFile)
  const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, '--json', dir], {
    cwd: root
  }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }))
  return JSON.parse(stdout) as RepoReport
}

const yamlFiles = (dir: string) =>
  existsSync(join(root, dir))
    ? readdirSync(join(root, dir))
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => `${dir}/${f}`)
    : []

describe('this repository', () => {
  let report: RepoReport
  beforeAll(async () => {
    report = await lint(root)
    // Visible on purpose: a call is skipped only while its action is being written.
    const skipped = [...new Set(report.skippedCalls)]
    if (skipped.length) console.warn(`calls skipped, no action.yml yet:\n${skipped.join('\n')}`)
  })

  it('checks every workflow, template and action.yml', () => {
    const actions = readdirSync(join(root, 'actions'))
      .map((name) => `actions/${name}/action.yml`)
      .filter((f) => existsSync(join(root, f)))
    expect([...report.files.workflows].sort()).toEqual(yamlFiles('.github/workflows').sort())
    expect([...report.files.templates].sort()).toEqual(yamlFiles('workflow-templates').sort())
    expect([...report.files.actions].sort()).toEqual(actions.sort())
    for (const reusable of [
      'deploy.yml',
      'rollback.yml',
      'security-scan.yml',
      'backup.yml',
      'ci.yml',
      'release.yml',
      'e2e-kind.yml'
    ]) {
      expect(report.files.workflows).toContain(`.github/workflows/${reusable}`)
    }
    for (const template of [
      'deploy-staging',
      'deploy-production',
      'rollback',
      'security-weekly',
      'backup-verify'
    ]) {
      expect(report.files.templates).toContain(`workflow-templates/${template}.yml`)
    }
  })

  it("has no finding from GitHub's parser, actionlint, our rules or the call contracts", () => {
    expect(report.findings).toEqual([])
  })

  it('checks the calls to every action that exists and every reusable workflow', () => {
    const called = new Set(
      [...report.checkedCalls, ...report.skippedCalls].flatMap(
        (c) => /ops-actions\/actions\/([\w-]+)@/.exec(c)?.[1] ?? []
      )
    )
    const existing = [...called].filter((name) =>
      existsSync(join(root, 'actions', name, 'action.yml'))
    )
    for (const name of existing) {
      expect(report.checkedCalls.some((c) => c.includes(`/actions/${name}@`))).toBe(true)
    }
    expect(existing.length).toBeGreaterThan(0)
    for (const file of ['deploy.yml', 'rollback.yml', 'security-scan.yml', 'backup.yml']) {
      expect(
        report.checkedCalls.some(
          (c) => c.startsWith('workflow-templates/') && c.includes(`/.github/workflows/${file}@`)
        )
      ).toBe(true)
    }
  })

  // GitHub keeps one pending job per group and a newcomer replaces it: in a shared group a
  // deploy would cancel a queued rollback. The router lock keeps the two from switching at once.
  it('gives rollbacks a group of their own, per environment and service, never cancelled', () => {
    const concurrency = (file: string, job: string) =>
      (
        parse(readFileSync(join(root, '.github/workflows', file), 'utf8')) as {
          jobs: Record<string, { concurrency: { group: string; 'cancel-in-progress': boolean } }>
        }
      ).jobs[job].concurrency
    const rollback = concurrency('rollback.yml', 'rollback')
    const release = concurrency('deploy.yml', 'release')
    expect(rollback.group).not.toBe(release.group)
    for (const c of [rollback, release]) {
      expect(c.group).toContain('${{ inputs.environment }}')
      expect(c.group).toMatch(/\$\{\{ inputs\.image[ }|]/)
      expect(c['cancel-in-progress']).toBe(false)
    }
  })

  // image is optional in rollback.yml: without it the group must still tell services apart, or
  // one service's rollback replaces (cancels) another's queued one.
  it("names the rollback's router object in its group when image is empty", () => {
    const group = (
      parse(readFileSync(join(root, '.github/workflows/rollback.yml'), 'utf8')) as {
        jobs: Record<string, { concurrency: { group: string } }>
      }
    ).jobs.rollback.concurrency.group
    const inputs = [...group.replace(/^[^|]*\|\|/, '').matchAll(/inputs\.([\w-]+)/g)].map(
      (m) => m[1]
    )
    for (const input of [
      'router',
      'ssh-host',
      'haproxy-socket',
      'haproxy-backend',
      'nginx-upstream-file',
      'namespace',
      'service',
      'httproute',
      'app'
    ])
      expect(inputs).toContain(input)
  })
})

describe('the bad fixture repository', () => {
  let report: RepoReport
  beforeAll(async () => {
    report = await lint(fixture)
  })

  const rulesIn = (file: string) =>
    report.findings.filter((f) => f.file === file).map((f) => f.rule)

  it('is reported by every checker', () => {
    expect(rulesIn('.github/workflows/bad.yml')).toEqual(
      expect.arrayContaining([
        'workflow-parser',
        'actionlint:syntax-check',
        'actionlint:action',
        'unpinned-uses',
        'permissions',
        'workflow-call'
      ])
    )
    expect(rulesIn('actions/typo/action.yml')).toEqual(['workflow-parser', 'workflow-parser'])
    expect(rulesIn('workflow-templates/no-properties.yml')).toEqual(['default-branch'])
    expect(rulesIn('workflow-templates/no-properties.properties.json')).toEqual([
      'template-properties'
    ])
  })

  it('filters only the exact actionlint false positive on environment.deployment', () => {
    const messages = report.findings
      .filter((f) => f.rule.startsWith('actionlint:'))
      .map((f) => f.message)
    expect(messages.some((m) => m.includes('"foo" for "environment"'))).toBe(true)
    expect(messages.some((m) => m.includes('"deployment"'))).toBe(false)
  })

  it("checks reusable-workflow inputs with GitHub's parser too", () => {
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        rule: 'workflow-parser',
        message: expect.stringContaining('strategi is not defined')
      })
    )
  })
})
