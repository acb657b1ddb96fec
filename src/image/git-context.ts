import { readFileSync } from 'node:fs'
import type { RunContext } from '../core/run-context.js'

/** What the tags and labels are made from: the GitHub runner's context variables. */
export interface GitContext {
  ref: string
  sha: string
  repository: string
  serverUrl: string
  runNumber: string
  /** From the event payload's `repository`: for {{is_default_branch}} and the OCI labels. */
  defaultBranch?: string
  description?: string
  licenses?: string
}

/** The `repository` object of the event that started the run (absent on a CLI run). */
function eventRepository(path: string | undefined): Record<string, unknown> {
  if (!path) return {}
  try {
    const event = JSON.parse(readFileSync(path, 'utf8')) as { repository?: unknown }
    return typeof event.repository === 'object' && event.repository !== null
      ? (event.repository as Record<string, unknown>)
      : {}
  } catch {
    return {}
  }
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/** The run context as tags and labels see it, with the event payload's repository facts. */
export function gitContextOf(context: RunContext): GitContext {
  const repo = eventRepository(context.eventPath)
  const license = repo.license as { spdx_id?: unknown } | null | undefined
  const spdx = text(license?.spdx_id)
  const defaultBranch = text(repo.default_branch)
  const description = text(repo.description)
  return {
    ref: context.ref ?? '',
    sha: context.sha ?? '',
    repository: context.repository ?? '',
    serverUrl: context.serverUrl,
    runNumber: context.runNumber ?? '',
    ...(defaultBranch && { defaultBranch }),
    ...(description && { description }),
    // GitHub says NOASSERTION when it cannot tell the license: no label then.
    ...(spdx && spdx !== 'NOASSERTION' && { licenses: spdx })
  }
}
