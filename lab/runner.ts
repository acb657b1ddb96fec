/**
 * Runs a bundled action the way the GitHub runner does: `node actions/<name>/dist/index.js`
 * with INPUT_* variables (action.yml defaults filled in), fresh GITHUB_OUTPUT / STATE / ENV /
 * PATH / STEP_SUMMARY files and the usual GITHUB_* context; then the `post` entry with the
 * saved STATE_* values when action.yml declares one.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { actionDir, inputEnvName, readActionYml } from './action-yml.js'

export interface Annotation {
  level: 'error' | 'warning' | 'notice' | 'debug'
  message: string
  properties: Record<string, string>
}

export interface StepResult {
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Parsed from the GITHUB_OUTPUT file (name=value and heredoc forms). */
  outputs: Record<string, string>
  /** Parsed from GITHUB_STATE; handed to the post step as STATE_*. */
  state: Record<string, string>
  env: Record<string, string>
  path: string[]
  summary: string
  annotations: Annotation[]
  masks: string[]
  durationMs: number
}

export interface ActionResult extends StepResult {
  post?: StepResult
}

export interface RunActionOptions {
  env?: Record<string, string>
  cwd?: string
  timeoutMs?: number
  /** Run the post entry (default: when action.yml declares one). */
  post?: boolean
  /** Called with the child once it started, e.g. to send it a signal mid-run. */
  onStart?: (child: import('node:child_process').ChildProcess) => void
  /** Print the action's stdout/stderr live (handy in the demo). */
  echo?: boolean
}

/** Parses a GITHUB_OUTPUT / GITHUB_STATE / GITHUB_ENV file: `k=v` lines and `k<<DELIM` heredocs. */
export function parseCommandFile(text: string): Record<string, string> {
  const result: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line === '') continue
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const [, key, delimiter] = heredoc
      const body: string[] = []
      i++
      while (i < lines.length && lines[i] !== delimiter) body.push(lines[i++])
      if (i >= lines.length)
        throw new Error(`unterminated heredoc for ${key} (delimiter ${delimiter})`)
      result[key] = body.join('\n')
      continue
    }
    const eq = line.indexOf('=')
    if (eq <= 0) throw new Error(`malformed command file line: ${line}`)
    result[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return result
}

function unescapeData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

function unescapeProperty(s: string): string {
  return unescapeData(s).replace(/%3A/g, ':').replace(/%2C/g, ',')
}

/** Reads `::error file=a,line=3::message` workflow commands out of stdout. */
export function parseWorkflowCommands(stdout: string): {
  annotations: Annotation[]
  masks: string[]
} {
  const annotations: Annotation[] = []
  const masks: string[] = []
  for (const line of stdout.split('\n')) {
    const m = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line.replace(/\r$/, ''))
    if (!m) continue
    const [, command, props, data] = m
    if (command === 'add-mask') {
      masks.push(unescapeData(data))
      continue
    }
    if (!['error', 'warning', 'notice', 'debug'].includes(command)) continue
    const properties: Record<string, string> = {}
    for (const part of (props ?? '').split(',').filter(Boolean)) {
      const eq = part.indexOf('=')
      properties[part.slice(0, eq)] = unescapeProperty(part.slice(eq + 1))
    }
    annotations.push({
      level: command as Annotation['level'],
      message: unescapeData(data),
      properties
    })
  }
  return { annotations, masks }
}

function runStep(
  script: string,
  env: Record<string, string>,
  work: string,
  options: RunActionOptions
): Promise<StepResult> {
  const files = {
    GITHUB_OUTPUT: join(work, `output-${Date.now()}-${Math.random()}`),
    GITHUB_STATE: join(work, `state-${Date.now()}-${Math.random()}`),
    GITHUB_ENV: join(work, `env-${Date.now()}-${Math.random()}`),
    GITHUB_PATH: join(work, `path-${Date.now()}-${Math.random()}`),
    GITHUB_STEP_SUMMARY: join(work, `summary-${Date.now()}-${Math.random()}`)
  }
  for (const f of Object.values(files)) writeFileSync(f, '')
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      cwd: options.cwd ?? work,
      env: { ...env, ...files },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    options.onStart?.(child)
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => {
      out.push(d)
      if (options.echo) process.stdout.write(d)
    })
    child.stderr.on('data', (d: Buffer) => {
      err.push(d)
      if (options.echo) process.stderr.write(d)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000)
    child.on('error', reject)
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer)
      const stdout = Buffer.concat(out).toString('utf8')
      const read = (f: string): string => readFileSync(f, 'utf8')
      resolve({
        exitCode,
        signal,
        stdout,
        stderr: Buffer.concat(err).toString('utf8'),
        outputs: parseCommandFile(read(files.GITHUB_OUTPUT)),
        state: parseCommandFile(read(files.GITHUB_STATE)),
        env: parseCommandFile(read(files.GITHUB_ENV)),
        path: read(files.GITHUB_PATH).split('\n').filter(Boolean),
        summary: read(files.GITHUB_STEP_SUMMARY),
        ...parseWorkflowCommands(stdout),
        durationMs: Date.now() - started
      })
    })
  })
}

/** The context variables a hosted runner sets; callers override what a test needs. */
function contextEnv(work: string): Record<string, string> {
  return {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: work,
    GITHUB_REPOSITORY: 'example-org/example-service',
    GITHUB_REPOSITORY_OWNER: 'example-org',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_REF_TYPE: 'branch',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_EVENT_PATH: join(work, 'event.json'),
    GITHUB_WORKFLOW: 'test',
    GITHUB_JOB: 'test',
    GITHUB_RUN_ID: '1',
    GITHUB_RUN_NUMBER: '1',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'tester',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_TEMP: join(work, 'runner-temp'),
    RUNNER_TOOL_CACHE: join(work, 'tool-cache')
  }
}

/** Runs actions/<name>/dist/index.js (and its post entry) through the runner protocol. */
export async function runAction(
  name: string,
  inputs: Record<string, string>,
  options: RunActionOptions = {}
): Promise<ActionResult> {
  const spec = readActionYml(name)
  const unknown = Object.keys(inputs).filter((k) => !(k in spec.inputs))
  if (unknown.length)
    throw new Error(`${name}: action.yml declares no input(s) ${unknown.join(', ')}`)
  const work = mkdtempSync(join(tmpdir(), `run-${basename(name)}-`))
  writeFileSync(join(work, 'event.json'), '{}')
  // The runner provides these folders before any step runs.
  mkdirSync(join(work, 'runner-temp'))
  mkdirSync(join(work, 'tool-cache'))
  try {
    // Only PATH-like basics from the parent: a step sees the runner's env, not the test's.
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      LANG: 'C.UTF-8',
      ...contextEnv(work)
    }
    for (const [key, input] of Object.entries(spec.inputs)) {
      const value = inputs[key] ?? input.default
      if (value !== undefined) base[inputEnvName(key)] = String(value)
    }
    const env = { ...base, ...options.env }
    const main = await runStep(join(actionDir(name), spec.runs.main), env, work, options)
    const wantPost = options.post ?? Boolean(spec.runs.post)
    if (!wantPost || !spec.runs.post) return main
    const stateEnv: Record<string, string> = {}
    for (const [k, v] of Object.entries(main.state)) stateEnv[`STATE_${k}`] = v
    const post = await runStep(
      join(actionDir(name), spec.runs.post),
      { ...env, ...stateEnv },
      work,
      options
    )
    return { ...main, post }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
