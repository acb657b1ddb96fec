/**
 * The skipped-ancestor rule, on the real engine: act runs the bad sample (deploy.yml's old
 * shape) and skips the release job the same way GitHub does, while the fixed job runs; the lint
 * rule reports the bad job and not the fixed one.
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { jobResult, REPO_ROOT, runAct } from '../../lab/act.js'
import { checkWorkflow } from '../../tools/workflow-lint/workflow-rules.js'
import { loadYaml } from '../../tools/workflow-lint/yaml-doc.js'

const sample = readFileSync(join(REPO_ROOT, 'test/act/samples/skipped-ancestor.yml'), 'utf8')

describe('a job-level if without a status function below a skipped job', () => {
  it('is skipped by act as by GitHub; the fixed job runs', async () => {
    const run = await runAct({
      callerFiles: { '.github/workflows/sample.yml': sample },
      workflow: '.github/workflows/sample.yml',
      event: 'push',
      timeoutMs: 60_000
    })
    expect(run.exitCode).toBe(0)
    expect({
      scan: jobResult(run, 'scan'),
      build: jobResult(run, 'build'),
      release: jobResult(run, 'release'),
      fixed: jobResult(run, 'release-fixed')
    }).toEqual({ scan: 'success', build: undefined, release: undefined, fixed: 'success' })
  })

  it('is reported by the lint rule, and only that job', () => {
    const findings = checkWorkflow(loadYaml('sample.yml', sample)).filter(
      (f) => f.rule === 'skipped-ancestor'
    )
    expect(findings.map((f) => f.message.split(':')[0])).toEqual(['job `release`'])
  })
})
