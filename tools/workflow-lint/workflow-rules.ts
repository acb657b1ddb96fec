/**
 * The security and operability rules no offline tool checks (see docs/adoption.md, "Rules").
 * Each rule is a function over one parsed workflow; `checkWorkflow` runs them all.
 */
import { isMap, type Node } from 'yaml'
import type { Finding } from './finding.js'
import { firstPartyWorkflow, isFirstParty } from './first-party.js'
import { unsafeExpressions } from './expressions.js'
import {
  callsDeployingWorkflow,
  jobReleaseKind,
  readJobs,
  type JobView,
  type StepView
} from './workflow-model.js'
import { firstPartyRef, secretNames, skippedAncestor } from './needs-rules.js'
import { asSeq, child, entries, text, type YamlFile } from './yaml-doc.js'

type Rule = (y: YamlFile, jobs: JobView[]) => Finding[]

/**
 * Minutes a release job may hold its environment. The floor is the actions' own worst case with
 * their default limits (lock-timeout 2m + rollout-timeout 5m + health-timeout 2m + verify 30s,
 * canary steps on top): a job timeout below it kills a switch the action would have finished or
 * undone. The ceiling keeps a stuck job from holding the environment for hours. A rollback's
 * ceiling leaves room to wait for a whole release that holds the router lock (deploy's ceiling)
 * before its own work: a rollback that gives up after the action's 2m default fails during every
 * canary.
 */
export const TIMEOUT_RANGE = {
  deploy: { min: 10, max: 30 },
  rollback: { min: 10, max: 45 }
} as const

const FULL_SHA = /^[0-9a-f]{40}$/
const VERSION_COMMENT = /^\s*v?\d+(\.\d+){0,2}\b/

/** `permissions: {}` at the top; scopes granted per job; never `write-all` / `read-all`. */
const permissions: Rule = (y, jobs) => {
  const findings: Finding[] = []
  const top = child(y.doc.contents, 'permissions')
  if (top === undefined) {
    findings.push(
      y.at(
        y.doc.contents,
        'permissions',
        'no top-level `permissions:`; set `permissions: {}` and grant per job'
      )
    )
  } else if (!isMap(top) || top.items.length > 0) {
    findings.push(
      y.at(top, 'permissions', 'top-level `permissions` must be `{}`; grant scopes per job')
    )
  }
  for (const job of jobs) {
    const p = child(job.node, 'permissions')
    const value = text(p)
    if (value === 'write-all' || value === 'read-all') {
      findings.push(
        y.at(p, 'permissions', `job \`${job.id}\`: \`${value}\`; list the scopes it needs`)
      )
    }
  }
  return findings
}

/** Actions that exchange the job's OIDC token for short-lived cloud credentials. */
const CLOUD_LOGIN = [
  'aws-actions/configure-aws-credentials@',
  'google-github-actions/auth@',
  'azure/login@'
]

/**
 * `id-token: write` only where the deploy happens, where a cloud login step uses it, or passed
 * down to a workflow that does one of those.
 */
const oidc: Rule = (y, jobs) =>
  jobs.flatMap((job) => {
    const node = child(child(job.node, 'permissions'), 'id-token')
    if (text(node) !== 'write') return []
    if (jobReleaseKind(job) !== undefined || callsDeployingWorkflow(job)) return []
    if (job.uses !== undefined && firstPartyWorkflow(job.uses) === 'backup.yml') return []
    if (job.steps.some((s) => CLOUD_LOGIN.some((p) => s.uses?.startsWith(p)))) return []
    return [
      y.at(
        node,
        'oidc',
        `job \`${job.id}\` neither deploys nor logs in to a cloud: remove \`id-token: write\``
      )
    ]
  })

export function usesFinding(
  y: YamlFile,
  node: Node | undefined,
  uses: string
): Finding | undefined {
  if (uses.startsWith('./') || isFirstParty(uses)) return undefined
  if (uses.startsWith('docker://')) {
    return /@sha256:[0-9a-f]{64}$/.test(uses)
      ? undefined
      : y.at(node, 'unpinned-uses', `\`${uses}\`: pin the image by digest (@sha256:...)`)
  }
  const ref = uses.split('@')[1] ?? ''
  if (!FULL_SHA.test(ref)) {
    return y.at(node, 'unpinned-uses', `\`${uses}\`: pin third-party actions to a full commit SHA`)
  }
  const comment = (node as { comment?: string | null } | undefined)?.comment ?? ''
  if (!VERSION_COMMENT.test(comment)) {
    return y.at(node, 'unpinned-uses', `\`${uses}\`: add the version as a comment (\`# v4.2.2\`)`)
  }
  return undefined
}

/** Third-party actions and reusable workflows pinned to a commit SHA, with `# vX.Y.Z`. */
export const pinnedUses: Rule = (y, jobs) => {
  const refs: Array<[Node | undefined, string]> = []
  for (const job of jobs) {
    if (job.uses !== undefined) refs.push([job.usesNode, job.uses])
    for (const step of job.steps) if (step.uses !== undefined) refs.push([step.usesNode, step.uses])
  }
  return refs.flatMap(([node, uses]) => usesFinding(y, node, uses) ?? [])
}

/** Code that runs: `run:` and github-script's `script:`. */
export function codeNodes(step: StepView): Node[] {
  const script = step.uses?.startsWith('actions/github-script@')
    ? step.with.get('script')?.node
    : undefined
  return [step.run, script].filter((n): n is Node => n !== undefined)
}

export function injectionFindings(y: YamlFile, steps: StepView[], where: string): Finding[] {
  return steps.flatMap((step) =>
    codeNodes(step).flatMap((code) =>
      unsafeExpressions(text(code) ?? '').map((e) =>
        y.at(
          code,
          'template-injection',
          `${where}: \`\${{ ${e} }}\` expanded into code; pass it through \`env:\` and use "$VAR"`
        )
      )
    )
  )
}

/** No `${{ }}` of anything a caller or user can influence inside code. */
const templateInjection: Rule = (y, jobs) =>
  jobs.flatMap((job) => injectionFindings(y, job.steps, `job \`${job.id}\``))

/** actions/checkout must not leave the token in .git/config for later steps to read. */
const persistCredentials: Rule = (y, jobs) =>
  jobs.flatMap((job) =>
    job.steps
      .filter((s) => s.uses?.startsWith('actions/checkout@'))
      .filter((s) => s.with.get('persist-credentials')?.value !== 'false')
      .map((s) =>
        y.at(
          s.usesNode,
          'persist-credentials',
          `job \`${job.id}\`: actions/checkout needs \`persist-credentials: false\``
        )
      )
  )

/** Triggers that run with a write token on code or data from a fork. */
const dangerousTriggers: Rule = (y) => {
  const on = child(y.doc.contents, 'on')
  const names = [text(on), ...entries(on).map(([k]) => k), ...(asSeq(on)?.items ?? []).map(text)]
  return names
    .filter((n) => n === 'pull_request_target' || n === 'workflow_run')
    .map((n) =>
      y.at(
        on,
        'dangerous-trigger',
        `\`${n}\` runs fork-controlled input with a privileged token; use \`pull_request\``
      )
    )
}

/** Named secrets only: `secrets: inherit` hands every secret to the callee. */
const secretsInherit: Rule = (y, jobs) =>
  jobs
    .filter((job) => text(child(job.node, 'secrets')) === 'inherit')
    .map((job) =>
      y.at(
        child(job.node, 'secrets'),
        'secrets-inherit',
        `job \`${job.id}\`: pass the secrets it needs by name, not \`inherit\``
      )
    )

function environmentName(job: JobView): { name?: string; node?: Node; recordsDeployment: boolean } {
  const env = child(job.node, 'environment')
  if (env === undefined) return { recordsDeployment: false }
  const nameNode = isMap(env) ? child(env, 'name') : env
  const deployment = isMap(env) ? text(child(env, 'deployment')) : undefined
  return { name: text(nameNode), node: env, recordsDeployment: deployment !== 'false' }
}

/** `${{ inputs.environment }}` -> `inputs.environment`; a literal stays as is. */
function environmentKey(name: string): string {
  const m = /^\$\{\{\s*(.+?)\s*\}\}$/.exec(name.trim())
  return (m ? m[1] : name).toLowerCase()
}

/** Deploy and rollback jobs: one per environment at a time, and never cancelled mid-switch. */
const deployConcurrency: Rule = (y, jobs) =>
  jobs.flatMap((job) => {
    const env = environmentName(job)
    const releases = jobReleaseKind(job) !== undefined
    if (!releases && !env.recordsDeployment) return []
    if (env.name === undefined) {
      return [
        y.at(job.idNode, 'deploy-concurrency', `job \`${job.id}\` deploys without \`environment:\``)
      ]
    }
    const concurrency = child(job.node, 'concurrency') ?? child(y.doc.contents, 'concurrency')
    const group = text(child(concurrency, 'group'))
    const where = `job \`${job.id}\``
    if (group === undefined) {
      return [
        y.at(
          concurrency ?? job.idNode,
          'deploy-concurrency',
          `${where}: set \`concurrency: {group: deploy-<environment>, cancel-in-progress: false}\``
        )
      ]
    }
    const findings: Finding[] = []
    if (!group.toLowerCase().includes(environmentKey(env.name))) {
      findings.push(
        y.at(
          concurrency,
          'deploy-concurrency',
          `${where}: concurrency group \`${group}\` is not per environment (\`${env.name}\`)`
        )
      )
    }
    if (
      group.includes('${{') &&
      !group.replace(/\$\{\{\s*inputs\.environment\s*\}\}/gi, '').includes('${{')
    ) {
      findings.push(
        y.at(
          concurrency,
          'deploy-concurrency',
          `${where}: concurrency group \`${group}\` is per environment only; add the service (e.g. \`\${{ inputs.image }}\`) so services release independently`
        )
      )
    }
    // In a shared group a deploy entering it replaces a queued rollback, and a deploy waiting
    // for approval holds the group: rollbacks get a group of their own.
    if (jobReleaseKind(job) === 'rollback' && !/rollback/i.test(group)) {
      findings.push(
        y.at(
          concurrency,
          'deploy-concurrency',
          `${where}: a rollback needs its own group (\`rollback-...\`), not the deploys' \`${group}\`: a queued deploy would cancel it`
        )
      )
    }
    if (text(child(concurrency, 'cancel-in-progress')) !== 'false') {
      findings.push(
        y.at(
          concurrency,
          'deploy-concurrency',
          `${where}: \`cancel-in-progress: false\` (a cancelled switch can leave traffic half-moved)`
        )
      )
    }
    return findings
  })

/** Every job that runs steps has a timeout; deploys and rollbacks within their budget. */
const timeouts: Rule = (y, jobs) =>
  jobs
    .filter((job) => job.uses === undefined)
    .flatMap((job) => {
      const node = child(job.node, 'timeout-minutes')
      const minutes = Number(text(node))
      if (node === undefined || !Number.isFinite(minutes)) {
        return [
          y.at(
            job.idNode,
            'timeout',
            `job \`${job.id}\`: set \`timeout-minutes\` (a literal number)`
          )
        ]
      }
      const kind = jobReleaseKind(job)
      if (kind === undefined) return []
      const { min, max } = TIMEOUT_RANGE[kind]
      if (minutes < min) {
        return [
          y.at(
            node,
            'timeout',
            `job \`${job.id}\` (${kind}): timeout-minutes ${minutes} is below the action's own limits (${min} minutes with its defaults)`
          )
        ]
      }
      if (minutes > max) {
        return [
          y.at(
            node,
            'timeout',
            `job \`${job.id}\` (${kind}): timeout-minutes ${minutes} exceeds the ${max}-minute ceiling`
          )
        ]
      }
      return []
    })

export const WORKFLOW_RULES: Record<string, Rule> = {
  'skipped-ancestor': skippedAncestor,
  'secret-name': secretNames,
  'first-party-ref': firstPartyRef,
  permissions,
  oidc,
  'unpinned-uses': pinnedUses,
  'template-injection': templateInjection,
  'persist-credentials': persistCredentials,
  'dangerous-trigger': dangerousTriggers,
  'secrets-inherit': secretsInherit,
  'deploy-concurrency': deployConcurrency,
  timeout: timeouts
}

export function checkWorkflow(y: YamlFile): Finding[] {
  const jobs = readJobs(y)
  return Object.values(WORKFLOW_RULES).flatMap((rule) => rule(y, jobs))
}
