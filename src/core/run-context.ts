import { hostname, tmpdir } from 'node:os'

/**
 * The run an action belongs to, read once at the edge (the runner's GITHUB_* and RUNNER_*
 * variables) and handed to the code on ActionIO, so no library module reads process.env for it.
 */
export interface RunContext {
  /** `owner/name`; undefined outside GitHub Actions (the CLI on a laptop). */
  repository?: string
  runId?: string
  workflow?: string
  /** The event that started the workflow (`push`, `workflow_dispatch`, …). */
  eventName?: string
  sha?: string
  serverUrl: string
  apiUrl: string
  /** This run's log page, when the run is on GitHub. */
  runUrl?: string
  /** `refs/heads/main`, `refs/tags/v1.2.3`, … (GITHUB_REF). */
  ref?: string
  runNumber?: string
  /** The event payload file (GITHUB_EVENT_PATH). */
  eventPath?: string
  /** The checkout: GITHUB_WORKSPACE, else the working directory. */
  workspace: string
  /** For this run's temporary files: RUNNER_TEMP, else the system's. */
  tempDir: string
  /** The runner's tool cache (RUNNER_TOOL_CACHE); undefined outside a runner. */
  toolCacheDir?: string
}

export function runContextFromEnv(env: NodeJS.ProcessEnv = process.env): RunContext {
  const serverUrl = env.GITHUB_SERVER_URL || 'https://github.com'
  const repository = env.GITHUB_REPOSITORY || undefined
  const runId = env.GITHUB_RUN_ID || undefined
  return {
    repository,
    runId,
    workflow: env.GITHUB_WORKFLOW || undefined,
    eventName: env.GITHUB_EVENT_NAME || undefined,
    sha: env.GITHUB_SHA || undefined,
    serverUrl,
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    runUrl: repository && runId ? `${serverUrl}/${repository}/actions/runs/${runId}` : undefined,
    ref: env.GITHUB_REF || undefined,
    runNumber: env.GITHUB_RUN_NUMBER || undefined,
    eventPath: env.GITHUB_EVENT_PATH || undefined,
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
    tempDir: env.RUNNER_TEMP || tmpdir(),
    toolCacheDir: env.RUNNER_TOOL_CACHE || undefined
  }
}

/** Who holds the router lock, in words a person can act on. */
export function runOwner(context: RunContext, host = hostname()): string {
  return context.repository
    ? `${context.repository} run ${context.runId} (${context.workflow}) on ${host}`
    : `ops-actions CLI pid ${process.pid} on ${host}`
}
