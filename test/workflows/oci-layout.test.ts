/**
 * deploy.yml's build without Docker (`oci-layout`): the caller's code runs only in the gate (no
 * write scope), which hands on nothing but the layout; the job with packages: write runs none of
 * the caller's code on that path; Docker buildx stays the default. Run end to end by
 * test/act/staging-oci-layout.act.contract.test.ts; this pins the structure the run cannot see
 * (act ignores permissions).
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

const root = new URL('../..', import.meta.url).pathname

interface Step {
  id?: string
  if?: string
  uses?: string
  run?: string
  with?: Record<string, string>
}
interface Job {
  needs?: string | string[]
  permissions?: Record<string, string>
  outputs?: Record<string, string>
  steps?: Step[]
}
interface Workflow {
  on: { workflow_call: { inputs: Record<string, { default?: unknown }> } }
  jobs: Record<string, Job>
}

const deploy = parse(readFileSync(join(root, '.github/workflows/deploy.yml'), 'utf8')) as Workflow
const LAYOUT = "inputs.oci-layout != ''"
const DOCKER = "inputs.oci-layout == ''"
/** Steps that run when the layout path is chosen (no `if`, or the layout condition). */
const onLayoutPath = (job: Job) => (job.steps ?? []).filter((s) => !s.if || s.if === LAYOUT)

describe('deploy.yml oci-layout path', () => {
  it('is off by default: Docker buildx builds', () => {
    expect(deploy.on.workflow_call.inputs['oci-layout'].default).toBe('')
    const build = deploy.jobs.build.steps ?? []
    expect(build.find((s) => s.with?.mode === 'build')?.if).toBe(DOCKER)
    expect(build.find((s) => s.uses?.startsWith('actions/checkout@'))?.if).toBe(DOCKER)
  })

  it('the gate has no write scope and uploads only the layout', () => {
    const gate = deploy.jobs.gate
    expect(Object.values(gate.permissions ?? {}).filter((p) => p !== 'read')).toEqual([])
    const upload = (gate.steps ?? []).filter((s) => s.uses?.startsWith('actions/upload-artifact@'))
    expect(upload).toHaveLength(1)
    expect(upload[0].if).toBe(LAYOUT)
    expect(upload[0].with).toMatchObject({
      // Unique per call (check-inputs): calls in one caller run share its artifact names.
      name: '${{ needs.check-inputs.outputs.oci-layout-artifact }}',
      path: '${{ inputs.oci-layout }}',
      'if-no-files-found': 'error',
      // "Re-run all jobs" uploads the name again within the same run.
      overwrite: true
    })
  })

  it('the job with packages: write runs no caller code: no checkout, no run step', () => {
    const build = deploy.jobs.build
    expect(build.permissions?.packages).toBe('write')
    expect(build.needs).toEqual(['check-inputs', 'gate'])
    const steps = onLayoutPath(build)
    expect(steps.map((s) => s.uses?.replace(/@.*/, ''))).toEqual([
      'actions/download-artifact',
      'example-org/ops-actions/actions/image-push'
    ])
    expect(steps.filter((s) => s.run !== undefined)).toEqual([])
    const [download, push] = steps
    // Outside the workspace: nothing the layout holds lands where later steps look for code.
    expect(download.with?.path).toBe('${{ runner.temp }}/ops-oci-layout')
    expect(download.with?.name).toBe('${{ needs.check-inputs.outputs.oci-layout-artifact }}')
    expect(push.with).toMatchObject({
      mode: 'oci-layout',
      'oci-layout': download.with?.path,
      'oci-layout-ref': '${{ inputs.oci-layout-ref }}'
    })
    // Same tags as the Docker path: production promotes sha-<commit>.
    expect(push.with?.tags).toContain('sha-${{ github.sha }}')
    expect(build.outputs?.image).toBe(
      `\${{ ${DOCKER} && steps.push.outputs.image || steps.${push.id}.outputs.image }}`
    )
  })
})
