/**
 * Runs a workflow with the real workflow engine nektos/act, in host mode (`-P <label>=-self-hosted`:
 * steps run on this machine, no Docker), against a temporary caller repository:
 * - `<org>/ops-actions@<ref>` (actions and reusable workflows) maps to a checkout of this
 *   repository through `--local-repository`, so the bundles under test are what runs;
 * - third-party actions that cannot be fetched here map to the STAND-INS in test/act/standins
 *   (each one says in its action.yml what it stands in for and what it leaves out);
 * - GITHUB_API_URL points at a fake GitHub API (test/fakes/github-api.ts).
 * Every run has its own act cache (XDG_CACHE_HOME) and is killed after `timeoutMs`.
 */
import { spawn } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { enginePath } from './engines.js'

const here = dirname(fileURLToPath(import.meta.url))
export const REPO_ROOT = join(here, '..')
export const STANDINS_DIR = join(REPO_ROOT, 'test', 'act', 'standins')

/** Third-party action refs used by the workflows -> the stand-in directory that replaces them. */
export const STANDINS: Record<string, string> = {
  'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683': 'checkout',
  'actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020': 'setup-node',
  'actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02': 'upload-artifact',
  'actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093': 'download-artifact',
  'github/codeql-action@5d4e8d1aca955e8d8589aabd499c5cae939e33c7': 'codeql-action',
  'aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502':
    'configure-aws-credentials'
}

export interface ActJob {
  /** act's job label, e.g. `deploy/deploy.yml/release` (caller job / workflow file / job). */
  name: string
  result: 'success' | 'failure'
}

export interface ActOutput {
  job: string
  name: string
  value: string
}

export interface ActRun {
  exitCode: number | null
  timedOut: boolean
  /** Jobs that ran, with their result; a job that is absent was skipped (or never reached). */
  jobs: ActJob[]
  /** The steps' own output lines (raw_output), in order. */
  output: string
  /** Step outputs as act saw them set (GITHUB_OUTPUT / set-output), in order. */
  outputs: ActOutput[]
  /** Every log line as act wrote it (JSON), for failure messages. */
  log: string
  durationMs: number
  callerDir: string
}

export interface ActOptions {
  /** Files of the caller repository, path -> content (at least the workflow). */
  callerFiles: Record<string, string>
  /** The workflow to run, relative to the caller repository. */
  workflow: string
  event: 'push' | 'workflow_dispatch' | 'schedule'
  /** Branch the caller repository is on (push: the pushed branch). */
  branch?: string
  /** Event payload (workflow_dispatch: `{ inputs: {...} }`). */
  payload?: Record<string, unknown>
  org?: string
  ref?: string
  /** Checkout of ops-actions that `<org>/ops-actions@<ref>` maps to (default: prepareOpsCheckout()). */
  opsCheckout?: string
  env?: Record<string, string>
  secrets?: Record<string, string>
  vars?: Record<string, string>
  apiUrl?: string
  token?: string
  timeoutMs?: number
  /** Print act's log live (debugging). */
  echo?: boolean
  /** A caller repository made beforehand with makeCallerRepo (callerFiles is then ignored). */
  callerDir?: string
  /** Called with the runner's tool cache before act starts (e.g. to place a pinned tool). */
  prepareToolCache?: (toolCacheDir: string) => void
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'lab',
      GIT_AUTHOR_EMAIL: 'lab@127.0.0.1',
      GIT_COMMITTER_NAME: 'lab',
      GIT_COMMITTER_EMAIL: 'lab@127.0.0.1'
    }
  }).trim()
}

/** A caller repository in a temp dir: the files, one commit on `branch`, origin acme/shop. */
export function makeCallerRepo(files: Record<string, string>, branch = 'main'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ops-act-caller-'))
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  git(dir, 'init', '-q', '-b', branch)
  git(dir, 'remote', 'add', 'origin', 'https://github.com/acme/shop.git')
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '-m', 'caller')
  return dir
}

/** The act command line (pure, so a table test can check it). */
export function actArgs(o: {
  event: string
  workflow: string
  eventFile: string
  org: string
  ref: string
  opsCheckout: string
  env: Record<string, string>
  secrets: Record<string, string>
  vars: Record<string, string>
}): string[] {
  const args = [
    o.event,
    '-W',
    o.workflow,
    '-e',
    o.eventFile,
    '--json',
    '--no-skip-checkout',
    '--action-offline-mode',
    '--container-daemon-socket',
    '-',
    // act's own cache and artifact servers default to 192.0.2.2: keep them on loopback.
    '--cache-server-addr',
    '127.0.0.1',
    '--artifact-server-addr',
    '127.0.0.1',
    '-P',
    'ubuntu-latest=-self-hosted',
    '-P',
    'self-hosted=-self-hosted',
    '--local-repository',
    `${o.org}/ops-actions@${o.ref}=${o.opsCheckout}`
  ]
  for (const [uses, dir] of Object.entries(STANDINS)) {
    // act matches <owner>/<repo>@<ref>; github/codeql-action/upload-sarif is a sub-path of it.
    args.push('--local-repository', `${uses}=${join(STANDINS_DIR, dir)}`)
  }
  for (const [k, v] of Object.entries(o.env)) args.push('--env', `${k}=${v}`)
  for (const [k, v] of Object.entries(o.secrets)) args.push('-s', `${k}=${v}`)
  for (const [k, v] of Object.entries(o.vars)) args.push('--var', `${k}=${v}`)
  return args
}

interface LogLine {
  job?: string
  jobResult?: string
  raw_output?: boolean
  msg?: string
  command?: string
  name?: string
  arg?: string
}

export function parseActLog(text: string): {
  jobs: ActJob[]
  output: string
  outputs: ActOutput[]
} {
  const jobs: ActJob[] = []
  const outputs: ActOutput[] = []
  let output = ''
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    let entry: LogLine
    try {
      entry = JSON.parse(line) as LogLine
    } catch {
      continue
    }
    if (entry.jobResult === 'success' || entry.jobResult === 'failure') {
      jobs.push({ name: (entry.job ?? '').trim(), result: entry.jobResult })
    }
    if (entry.command === 'set-output' && entry.name !== undefined) {
      outputs.push({ job: (entry.job ?? '').trim(), name: entry.name, value: entry.arg ?? '' })
    }
    if (entry.raw_output && entry.msg)
      output += entry.msg.endsWith('\n') ? entry.msg : `${entry.msg}\n`
  }
  return { jobs, output, outputs }
}

export async function runAct(options: ActOptions): Promise<ActRun> {
  const act = enginePath('act')
  const callerDir =
    options.callerDir ?? makeCallerRepo(options.callerFiles, options.branch ?? 'main')
  const work = mkdtempSync(join(tmpdir(), 'ops-act-run-'))
  // act's host mode puts RUNNER_TOOL_CACHE at $XDG_CACHE_HOME/act/tool_cache.
  const toolCache = join(work, 'cache', 'act', 'tool_cache')
  mkdirSync(toolCache, { recursive: true })
  options.prepareToolCache?.(toolCache)
  const eventFile = join(work, 'event.json')
  const branch = options.branch ?? 'main'
  writeFileSync(
    eventFile,
    JSON.stringify({
      ref: `refs/heads/${branch}`,
      repository: { full_name: 'acme/shop', name: 'shop', owner: { login: 'acme' } },
      ...options.payload
    })
  )
  const token = options.token ?? 'act-lab-token'
  const env: Record<string, string> = {
    GITHUB_API_URL: options.apiUrl ?? 'http://127.0.0.1:9',
    OPS_ACT_CALLER: callerDir,
    OPS_ACT_ARTIFACTS: join(work, 'artifacts'),
    ...options.env
  }
  const opsCheckout = options.opsCheckout ?? prepareOpsCheckout()
  const args = actArgs({
    event: options.event,
    workflow: options.workflow,
    eventFile,
    org: options.org ?? 'example-org',
    ref: options.ref ?? 'v1',
    opsCheckout,
    env,
    secrets: { GITHUB_TOKEN: token, ...options.secrets },
    vars: options.vars ?? {}
  })
  const started = Date.now()
  const child = spawn(act, args, {
    cwd: callerDir,
    // Own act cache per run: parallel runs never share a cloned action or a workspace.
    env: { ...process.env, XDG_CACHE_HOME: join(work, 'cache'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true
  })
  let log = ''
  const take = (d: Buffer) => {
    log += d.toString()
    if (options.echo) process.stderr.write(d)
  }
  child.stdout.on('data', take)
  child.stderr.on('data', take)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    } catch {
      child.kill('SIGKILL')
    }
  }, options.timeoutMs ?? 240_000)
  const exitCode = await new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code))
    child.on('error', () => resolve(127))
  })
  clearTimeout(timer)
  const { jobs, output, outputs } = parseActLog(log)
  if (!process.env.OPS_LAB_KEEP) {
    // Only what this run made: a caller repository or ops copy passed in belongs to the test.
    for (const dir of [
      work,
      options.opsCheckout ? undefined : opsCheckout,
      options.callerDir ? undefined : callerDir
    ]) {
      if (dir) rmSync(dir, { recursive: true, force: true })
    }
  }
  return {
    exitCode,
    timedOut,
    jobs,
    output,
    outputs,
    log,
    durationMs: Date.now() - started,
    callerDir
  }
}

/** The last value a job (label ending with `/<job>`) set for a step output `name`. */
export function stepOutput(run: ActRun, job: string, name: string): string | undefined {
  return run.outputs
    .filter((o) => (o.job === job || o.job.endsWith(`/${job}`)) && o.name === name)
    .at(-1)?.value
}

/** The result of the job whose act label ends with `/<id>` (or is `<id>`), if it ran. */
export function jobResult(run: ActRun, id: string): ActJob['result'] | undefined {
  return run.jobs.find((j) => j.name === id || j.name.endsWith(`/${id}`))?.result
}

/**
 * act 0.2.89's workflow schema predates `environment.deployment` (GitHub's workflow-v1.0.json has
 * it) and rejects the whole file. act records no deployment for an environment anyway, so the
 * copy act reads has that one key removed; nothing else is changed.
 */
export function withoutDeploymentKey(workflow: string): string {
  return workflow.replace(
    /^( +)deployment: false[^\n]*\n/gm,
    (line, indent: string, offset: number) => {
      const before = workflow.slice(0, offset).split('\n').slice(-4).join('\n')
      return new RegExp(`\\n${indent.slice(2)}environment:`).test(`\n${before}`) ? '' : line
    }
  )
}

/** The copy of this repository act maps `<org>/ops-actions@<ref>` to: actions and workflows. */
export function prepareOpsCheckout(root = REPO_ROOT): string {
  const dir = mkdtempSync(join(tmpdir(), 'ops-act-ops-'))
  for (const name of readdirSync(join(root, 'actions'))) {
    const from = join(root, 'actions', name)
    if (!existsSync(join(from, 'action.yml'))) continue
    if (!existsSync(join(from, 'dist', 'index.js'))) {
      throw new Error(`actions/${name}/dist/index.js is missing: run npm run build first`)
    }
    cpSync(from, join(dir, 'actions', name), { recursive: true })
  }
  mkdirSync(join(dir, '.github', 'workflows'), { recursive: true })
  for (const file of readdirSync(join(root, '.github', 'workflows'))) {
    const text = readFileSync(join(root, '.github', 'workflows', file), 'utf8')
    writeFileSync(join(dir, '.github', 'workflows', file), withoutDeploymentKey(text))
  }
  return dir
}
