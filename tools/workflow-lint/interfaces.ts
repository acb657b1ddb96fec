/**
 * Calls into this repository checked against what they call: every `with:` key given to one of
 * our actions exists in its action.yml and every required input is given; every reusable
 * workflow called exists, gets only the inputs and secrets it declares, all required ones, and
 * at least the token permissions its jobs ask for (a callee can never have more than its caller).
 */
import { parse } from 'yaml'
import type { Finding } from './finding.js'
import { firstPartyAction, firstPartyWorkflow } from './first-party.js'
import { readJobs, readWith, type JobView, type StepView } from './workflow-model.js'
import { child, entries, text, type YamlFile } from './yaml-doc.js'

/** Reads files of this repository; undefined when the file does not exist. */
export interface RepoLookup {
  actionYml(name: string): string | undefined
  workflow(file: string): string | undefined
}

export interface CallReport {
  findings: Finding[]
  /** `file: uses` of every call that was checked. */
  checked: string[]
  /** Calls to actions whose action.yml does not exist yet, with why they were skipped. */
  skipped: string[]
}

interface InputSpec {
  required?: boolean
  default?: unknown
  type?: string
}

type Level = 'none' | 'read' | 'write'
const RANK: Record<Level, number> = { none: 0, read: 1, write: 2 }

function requiredMissing(inputs: Record<string, InputSpec>, given: Map<string, unknown>): string[] {
  return Object.entries(inputs)
    .filter(
      ([name, spec]) => spec?.required === true && spec.default === undefined && !given.has(name)
    )
    .map(([name]) => name)
}

/** The `on.workflow_call.inputs` of the file being checked (empty unless it is reusable). */
function ownCallInputs(y: YamlFile): Record<string, InputSpec> {
  const call = child(child(y.doc.contents, 'on'), 'workflow_call')
  return (child(call, 'inputs')?.toJSON() ?? {}) as Record<string, InputSpec>
}

const asText = (v: unknown) => (v === undefined || v === null ? '' : String(v))

/**
 * `key: ${{ inputs.x }}` where x defaults to empty hands the action an explicit '' instead of its
 * own default: the workflow input must declare the action's default.
 */
function defaultDrift(
  y: YamlFile,
  call: { name: string; key: string; node: unknown; value?: string },
  action: InputSpec,
  own: Record<string, InputSpec>
): Finding[] {
  const passed = /^\$\{\{\s*inputs\.([\w-]+)\s*\}\}$/.exec(call.value ?? '')?.[1]
  const actionDefault = asText(action.default)
  // A required workflow input always carries a value.
  if (passed === undefined || !(passed in own) || own[passed]?.required || actionDefault === '')
    return []
  if (actionDefault.includes('${{') || asText(own[passed]?.default) !== '') return []
  const message =
    `\`${call.name}\` input \`${call.key}\` defaults to \`${actionDefault}\`, but workflow input ` +
    `\`${passed}\` defaults to empty and overrides it; declare \`default: ${actionDefault}\``
  return [y.at(call.node, 'default-drift', message)]
}

function checkActionCall(y: YamlFile, step: StepView, name: string, source: string): Finding[] {
  const spec = (parse(source) ?? {}) as { inputs?: Record<string, InputSpec> }
  const inputs = spec.inputs ?? {}
  const own = ownCallInputs(y)
  const findings: Finding[] = []
  for (const [key, { node, value }] of step.with) {
    if (key in inputs)
      findings.push(...defaultDrift(y, { name, key, node, value }, inputs[key] ?? {}, own))
    if (!(key in inputs)) {
      const known = Object.keys(inputs).join(', ') || 'none'
      findings.push(
        y.at(
          node ?? step.withNode,
          'action-input',
          `\`${name}\` has no input \`${key}\` (inputs: ${known})`
        )
      )
    }
  }
  for (const missing of requiredMissing(inputs, step.with)) {
    findings.push(
      y.at(step.usesNode, 'action-input', `\`${name}\`: required input \`${missing}\` is not given`)
    )
  }
  return findings
}

/** Token scopes as a map; `read-all`/`write-all` spelled out for the scopes named in `need`. */
function grants(node: unknown, need: Iterable<string>): Map<string, Level> {
  const all = text(node)
  if (all === 'read-all' || all === 'write-all') {
    const level = all === 'read-all' ? 'read' : 'write'
    return new Map([...need].map((scope) => [scope, level as Level]))
  }
  return new Map(entries(node).map(([scope, v]) => [scope, (text(v) ?? 'none') as Level]))
}

/** The most each scope is asked for by the callee (top level or any job). */
function calleeNeeds(callee: YamlFile): Map<string, Level> {
  const needs = new Map<string, Level>()
  const nodes = [
    child(callee.doc.contents, 'permissions'),
    ...readJobs(callee).map((j) => child(j.node, 'permissions'))
  ]
  for (const node of nodes) {
    for (const [scope, level] of entries(node).map(
      ([s, v]) => [s, (text(v) ?? 'none') as Level] as const
    )) {
      if (RANK[level] > RANK[needs.get(scope) ?? 'none']) needs.set(scope, level)
    }
  }
  return needs
}

function checkWorkflowCall(y: YamlFile, job: JobView, file: string, callee: YamlFile): Finding[] {
  const call = child(child(callee.doc.contents, 'on'), 'workflow_call')
  if (call === undefined) {
    return [
      y.at(
        job.usesNode,
        'workflow-call',
        `\`${file}\` is not a reusable workflow (no \`on.workflow_call\`)`
      )
    ]
  }
  const findings: Finding[] = []
  const declared = (child(call, 'inputs')?.toJSON() ?? {}) as Record<string, InputSpec>
  const given = readWith(child(job.node, 'with'))
  for (const [key, { node, value }] of given) {
    const spec = declared[key]
    if (spec === undefined) {
      findings.push(
        y.at(
          node,
          'workflow-call',
          `\`${file}\` declares no input \`${key}\` (inputs: ${Object.keys(declared).join(', ')})`
        )
      )
    } else if (value !== undefined && !value.includes('${{')) {
      if (spec.type === 'boolean' && value !== 'true' && value !== 'false') {
        findings.push(
          y.at(node, 'workflow-call', `\`${file}\` input \`${key}\` is a boolean, got \`${value}\``)
        )
      }
      if (spec.type === 'number' && !Number.isFinite(Number(value))) {
        findings.push(
          y.at(node, 'workflow-call', `\`${file}\` input \`${key}\` is a number, got \`${value}\``)
        )
      }
    }
  }
  for (const missing of requiredMissing(declared, given)) {
    findings.push(
      y.at(job.usesNode, 'workflow-call', `\`${file}\`: required input \`${missing}\` is not given`)
    )
  }
  const secretsDeclared = (child(call, 'secrets')?.toJSON() ?? {}) as Record<string, InputSpec>
  const secretsGiven = readWith(child(job.node, 'secrets'))
  for (const [key, { node }] of secretsGiven) {
    if (!(key in secretsDeclared)) {
      findings.push(y.at(node, 'workflow-call', `\`${file}\` declares no secret \`${key}\``))
    }
  }
  for (const missing of requiredMissing(secretsDeclared, secretsGiven)) {
    findings.push(
      y.at(
        job.usesNode,
        'workflow-call',
        `\`${file}\`: required secret \`${missing}\` is not given`
      )
    )
  }
  const needs = calleeNeeds(callee)
  const granted = grants(
    child(job.node, 'permissions') ?? child(y.doc.contents, 'permissions'),
    needs.keys()
  )
  for (const [scope, level] of needs) {
    if (RANK[granted.get(scope) ?? 'none'] < RANK[level]) {
      findings.push(
        y.at(
          job.idNode,
          'workflow-call',
          `job \`${job.id}\` must grant \`${scope}: ${level}\`: \`${file}\` asks for it and a callee only gets what its caller has`
        )
      )
    }
  }
  return findings
}

export function checkCalls(
  y: YamlFile,
  repo: RepoLookup,
  load: (file: string, source: string) => YamlFile
): CallReport {
  const report: CallReport = { findings: [], checked: [], skipped: [] }
  for (const job of readJobs(y)) {
    const file = job.uses ? firstPartyWorkflow(job.uses) : undefined
    if (file !== undefined) {
      const source = repo.workflow(file)
      report.checked.push(`${y.file}: ${job.uses}`)
      if (source === undefined) {
        report.findings.push(
          y.at(
            job.usesNode,
            'workflow-call',
            `reusable workflow \`.github/workflows/${file}\` does not exist`
          )
        )
      } else {
        report.findings.push(
          ...checkWorkflowCall(y, job, file, load(`.github/workflows/${file}`, source))
        )
      }
    }
    for (const step of job.steps) {
      const name = step.uses ? firstPartyAction(step.uses) : undefined
      if (name === undefined) continue
      const source = repo.actionYml(name)
      if (source === undefined) {
        report.skipped.push(
          `${y.file}: ${step.uses} (actions/${name}/action.yml does not exist yet)`
        )
        continue
      }
      report.checked.push(`${y.file}: ${step.uses}`)
      report.findings.push(...checkActionCall(y, step, name, source))
    }
  }
  return report
}
