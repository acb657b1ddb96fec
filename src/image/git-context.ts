/** What the tags and labels are made from: the GitHub runner's context variables. */
export interface GitContext {
  ref: string
  sha: string
  repository: string
  serverUrl: string
  runNumber: string
}

export function gitContextFromEnv(env: NodeJS.ProcessEnv = process.env): GitContext {
  return {
    ref: env.GITHUB_REF ?? '',
    sha: env.GITHUB_SHA ?? '',
    repository: env.GITHUB_REPOSITORY ?? '',
    serverUrl: env.GITHUB_SERVER_URL ?? 'https://github.com',
    runNumber: env.GITHUB_RUN_NUMBER ?? ''
  }
}
