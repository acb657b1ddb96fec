/** A read-only view of a workflow's jobs and steps, with the YAML nodes kept for positions. */
import type { Node } from 'yaml'
import { firstPartyAction, firstPartyWorkflow } from './first-party.js'
import { asSeq, child, entries, text, type YamlFile } from './yaml-doc.js'

export interface StepView {
  node: Node
  uses?: string
  usesNode?: Node
  /** `with:` values as written (scalars as strings, others as undefined). */
  with: Map<string, { node?: Node; value?: string }>
  withNode?: Node
  run?: Node
}

export interface JobView {
  id: string
  node: Node
  idNode: Node | undefined
  /** Set when the job calls a reusable workflow. */
  uses?: string
  usesNode?: Node
  steps: StepView[]
}

export function readWith(node: Node | undefined): StepView['with'] {
  return new Map(entries(node).map(([key, value]) => [key, { node: value, value: text(value) }]))
}

export function readStep(node: Node): StepView {
  const usesNode = child(node, 'uses')
  const withNode = child(node, 'with')
  return {
    node,
    uses: text(usesNode),
    usesNode,
    with: readWith(withNode),
    withNode,
    run: child(node, 'run')
  }
}

export function readJobs(y: YamlFile): JobView[] {
  return entries(child(y.doc.contents, 'jobs')).map(([id, node, pair]) => {
    const usesNode = child(node, 'uses')
    const steps = asSeq(child(node, 'steps'))?.items ?? []
    return {
      id,
      node: node as Node,
      idNode: pair.key as Node | undefined,
      uses: text(usesNode),
      usesNode,
      steps: steps.map((s) => readStep(s as Node))
    }
  })
}

/** The deploy-bluegreen / canary-promote step kind, from the action name and its `mode`. */
export type ReleaseKind = 'deploy' | 'rollback' | undefined

export function releaseKind(step: StepView): ReleaseKind {
  // `./actions/x` exists only in this repository's own tests (the kind e2e): they release to a
  // throw-away cluster, not to an environment, so the deploy rules do not apply to them.
  const published = step.uses !== undefined && !step.uses.startsWith('./')
  const action = published ? firstPartyAction(step.uses as string) : undefined
  const mode = step.with.get('mode')?.value
  if (action === 'deploy-bluegreen') {
    if (mode === 'rollback') return 'rollback'
    return mode === 'status' ? undefined : 'deploy'
  }
  if (action === 'canary-promote') {
    if (mode === 'abort') return 'rollback'
    return mode === 'status' ? undefined : 'deploy'
  }
  return undefined
}

/** What a job does to an environment: its steps' release kinds, rollback winning (stricter budget). */
export function jobReleaseKind(job: JobView): ReleaseKind {
  const kinds = job.steps.map(releaseKind)
  if (kinds.includes('rollback')) return 'rollback'
  return kinds.includes('deploy') ? 'deploy' : undefined
}

/** Reusable workflows that deploy, so their callers may pass `id-token: write` down. */
export const DEPLOYING_WORKFLOWS = new Set(['deploy.yml', 'rollback.yml'])

export function callsDeployingWorkflow(job: JobView): boolean {
  const file = job.uses ? firstPartyWorkflow(job.uses) : undefined
  return file !== undefined && DEPLOYING_WORKFLOWS.has(file)
}
