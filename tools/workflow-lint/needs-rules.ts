/**
 * Rules about how jobs depend on each other and what they may name, where GitHub and a local
 * engine (act) disagree or where GitHub rejects at run time what every parser accepts.
 */
import type { Node } from 'yaml'
import type { Finding } from './finding.js'
import { isFirstParty } from './first-party.js'
import type { JobView } from './workflow-model.js'
import { asSeq, child, entries, text, type YamlFile } from './yaml-doc.js'

/** `success()`, `failure()`, `always()`, `cancelled()`: their presence replaces the implicit success(). */
const STATUS_FUNCTION = /\b(success|failure|always|cancelled)\s*\(/

export function hasStatusFunction(condition: string | undefined): boolean {
  return condition !== undefined && STATUS_FUNCTION.test(condition)
}

/** Direct `needs:` of a job (a string or a list). */
export function directNeeds(job: JobView): string[] {
  const node = child(job.node, 'needs')
  const one = text(node)
  if (one !== undefined) return [one]
  return (asSeq(node)?.items ?? []).map(text).filter((n): n is string => n !== undefined)
}

/** Every job reachable through `needs:` (cycles are the parser's to report). */
export function ancestors(id: string, needs: Map<string, string[]>): string[] {
  const seen = new Set<string>()
  const stack = [...(needs.get(id) ?? [])]
  while (stack.length) {
    const next = stack.pop() as string
    if (seen.has(next)) continue
    seen.add(next)
    stack.push(...(needs.get(next) ?? []))
  }
  return [...seen]
}

/**
 * GitHub: a job-level `if:` without a status function means `success() && (if)`, and success()
 * is false when ANY ancestor in the needs chain was skipped, not only a direct one
 * (actions/runner#2205). So a job below an optional job (one with an `if:` of its own, further up
 * than its direct needs) never runs unless its own `if:` has a status function. act looks at the direct needs only and runs
 * it: a local run is green where GitHub skips the release.
 */
export const skippedAncestor = (y: YamlFile, jobs: JobView[]): Finding[] => {
  const needs = new Map(jobs.map((j) => [j.id, directNeeds(j)]))
  const optional = new Set(
    jobs.filter((j) => text(child(j.node, 'if')) !== undefined).map((j) => j.id)
  )
  return jobs.flatMap((job) => {
    const condition = text(child(job.node, 'if'))
    if (hasStatusFunction(condition)) return []
    const direct = needs.get(job.id) ?? []
    // A skipped DIRECT need skips the job on both engines, which is what such a chain means;
    // only an indirect one is the surprise.
    const skippable = ancestors(job.id, needs).filter((a) => optional.has(a) && !direct.includes(a))
    if (skippable.length === 0) return []
    const fix = `if: \${{ !cancelled() && ${direct.map((d) => `needs.${d}.result == 'success'`).join(' && ')} }}`
    return [
      y.at(
        child(job.node, 'if') ?? job.idNode,
        'skipped-ancestor',
        `job \`${job.id}\`: ancestor ${skippable.map((a) => `\`${a}\``).join(', ')} can be skipped, ` +
          `and GitHub then skips this job too (the implicit success() covers every ancestor); ` +
          `use a status function, e.g. \`${fix}\``
      )
    ]
  })
}

/** GitHub secret names: letters, digits and `_`, not starting with a digit or GITHUB_. */
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export function secretNameProblem(name: string): string | undefined {
  if (!SECRET_NAME.test(name)) return 'only letters, digits and `_`, not starting with a digit'
  if (/^GITHUB_/i.test(name)) return 'must not start with GITHUB_'
  return undefined
}

/**
 * Declared `on.workflow_call.secrets` and secrets passed to a called workflow. A name GitHub cannot store (a `-` in it) can only ever be empty, or forces every
 * credential into a repository-wide secret outside the environment's protection.
 */
export const secretNames = (y: YamlFile, jobs: JobView[]): Finding[] => {
  const named: Array<[string, Node | undefined]> = []
  const declared = child(child(child(y.doc.contents, 'on'), 'workflow_call'), 'secrets')
  for (const [name, , pair] of entries(declared)) named.push([name, pair.key as Node])
  for (const job of jobs) {
    const passed = child(job.node, 'secrets')
    for (const [name, , pair] of entries(passed)) named.push([name, pair.key as Node])
  }
  return named.flatMap(([name, node]) => {
    const problem = secretNameProblem(name)
    return problem
      ? [
          y.at(
            node,
            'secret-name',
            `secret \`${name}\`: not a valid GitHub secret name (${problem})`
          )
        ]
      : []
  })
}

/**
 * Every first-party reference in one workflow uses the same ref: a workflow pinned to one
 * release must not run actions of another (GitHub gives a reusable workflow no context for its
 * own commit, actions/runner#2417, so the refs are written, and moved, together).
 */
export const firstPartyRef = (y: YamlFile, jobs: JobView[]): Finding[] => {
  const refs: Array<[Node | undefined, string]> = []
  for (const job of jobs) {
    if (job.uses && isFirstParty(job.uses) && job.uses.includes('@'))
      refs.push([job.usesNode, job.uses])
    for (const step of job.steps) {
      if (step.uses && isFirstParty(step.uses) && step.uses.includes('@'))
        refs.push([step.usesNode, step.uses])
    }
  }
  if (refs.length === 0) return []
  const first = refs[0][1].split('@')[1]
  return refs
    .filter(([, uses]) => uses.split('@')[1] !== first)
    .map(([node, uses]) =>
      y.at(
        node,
        'first-party-ref',
        `\`${uses}\`: every ops-actions reference in a workflow uses one ref (here \`${first}\`), so one pin means one release`
      )
    )
}
