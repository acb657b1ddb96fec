/**
 * `npx tsx bench/bundles.ts`: today's layout (one ncc bundle per action, each with its own copy
 * of src/core and the dependencies, committed) against one shared bundle with thin entries
 * (github/codeql-action's way: many actions, one library). Each layout is built in a throw-away
 * copy of HEAD with its own git history, then a one-line change in src/core/action.ts (a log
 * message every bundle holds) is built and committed. Printed: bytes committed, what the
 * change does to git (files, lines, new object bytes, pack growth after repack), build times,
 * and a smoke run of each layout's slo-report entry (it must refuse empty inputs with exit 2).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  mkdirSync,
  existsSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'

const root = new URL('..', import.meta.url).pathname
const ncc = join(root, 'node_modules', '.bin', 'ncc')
const ACTIONS = readdirSync(join(root, 'actions')).filter((n) =>
  existsSync(join(root, 'actions', n, 'action.yml'))
)
const CHANGED_FILE = 'src/core/action.ts'
const BEFORE = '`post step: ${describeFailure(error)}`'
const AFTER = '`post step (warning only): ${describeFailure(error)}`'

const sh = (cwd: string, cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 })
const git = (cwd: string, ...args: string[]): string => sh(cwd, 'git', args)

function copyOfHead(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ops-bundles-'))
  execFileSync('sh', ['-c', `git -C "${root}" archive HEAD | tar -x -C "${dir}"`])
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  git(dir, 'init', '-q')
  git(dir, 'config', 'user.email', 'bench@localhost')
  git(dir, 'config', 'user.name', 'bench')
  return dir
}

function timed(fn: () => void): number {
  const started = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - started) / 1e9
}

function bytesUnder(dir: string, paths: string[]): number {
  let total = 0
  const walk = (p: string): void => {
    const s = statSync(p)
    if (s.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e))
    else total += s.size
  }
  for (const p of paths) if (existsSync(join(dir, p))) walk(join(dir, p))
  return total
}

function packBytes(dir: string): number {
  git(dir, 'repack', '-adq')
  const packs = join(dir, '.git', 'objects', 'pack')
  return readdirSync(packs)
    .filter((f) => f.endsWith('.pack'))
    .reduce((n, f) => n + statSync(join(packs, f)).size, 0)
}

/** Commits everything, changes one line in src/core, rebuilds, commits; returns the figures. */
function measure(dir: string, build: () => void, bundles: string[]) {
  const buildSeconds = timed(build)
  git(dir, 'add', '-A')
  git(dir, 'commit', '-qm', 'base')
  const committed = bytesUnder(dir, bundles)
  const packBefore = packBytes(dir)
  const file = join(dir, CHANGED_FILE)
  const text = readFileSync(file, 'utf8')
  if (!text.includes(BEFORE)) throw new Error(`${CHANGED_FILE} no longer has ${BEFORE}`)
  writeFileSync(file, text.replace(BEFORE, AFTER))
  const rebuildSeconds = timed(build)
  const numstat = git(dir, 'diff', '--numstat', '--', ...bundles)
    .trim()
    .split('\n')
    .filter(Boolean)
  const changedFiles = numstat.map((l) => l.split('\t')[2])
  // git counts a bundle with a NUL byte as binary (`-`): no line figure for it.
  const binary = numstat.filter((l) => l.startsWith('-\t')).length
  const lines = numstat
    .filter((l) => !l.startsWith('-\t'))
    .reduce((n, l) => n + Number(l.split('\t')[0]) + Number(l.split('\t')[1]), 0)
  const newObjectBytes = changedFiles.reduce(
    (n, f) => n + deflateSync(readFileSync(join(dir, f))).length,
    0
  )
  git(dir, 'add', '-A')
  git(dir, 'commit', '-qm', 'one line in src/core')
  const packGrowth = packBytes(dir) - packBefore
  // The entry's start-up: Node parses the whole bundle it loads before the action reads inputs.
  const starts: number[] = []
  let smoke = spawnSync(process.execPath, ['-e', '0'], { encoding: 'utf8' })
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint()
    smoke = spawnSync(process.execPath, [join(dir, 'actions/slo-report/dist/index.js')], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' }
    })
    starts.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  const startMs = starts.sort((x, y) => x - y)[2]
  return {
    committed,
    buildSeconds,
    rebuildSeconds,
    changedFiles: changedFiles.length,
    binary,
    lines,
    startMs,
    newObjectBytes,
    packGrowth,
    smoke: `exit ${smoke.status}: ${(smoke.stdout + smoke.stderr).trim().split('\n').pop()}`
  }
}

function today() {
  const dir = copyOfHead()
  try {
    return measure(dir, () => sh(dir, process.execPath, ['scripts/build.mjs']), [
      'actions',
      'cli/dist'
    ])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** One ncc bundle of every action (dist/actions/), each actions/<name>/dist/index.js thin. */
function shared() {
  const dir = copyOfHead()
  const imports = ACTIONS.map((name, i) => {
    const index = readFileSync(join(dir, 'src/actions', name, 'index.ts'), 'utf8')
    const post = /runAsGitHubAction\(run, post\)/.test(index)
    return {
      name,
      line: `import { run as run${i}${post ? `, post as post${i}` : ''} } from './${name}/main.js'`,
      entry: `  '${name}': [run${i}${post ? `, post${i}` : ''}]`
    }
  })
  writeFileSync(
    join(dir, 'src/actions/all.ts'),
    [
      "import { runAsGitHubAction, type ActionStep } from '../core/action.js'",
      ...imports.map((i) => i.line),
      'const ACTIONS: Record<string, [ActionStep, ActionStep?]> = {',
      imports.map((i) => i.entry).join(',\n'),
      '}',
      'export async function runNamed(name: string): Promise<void> {',
      '  const [run, post] = ACTIONS[name]',
      '  await runAsGitHubAction(run, post)',
      '}',
      ''
    ].join('\n')
  )
  const build = (): void => {
    rmSync(join(dir, 'dist'), { recursive: true, force: true })
    sh(dir, ncc, [
      'build',
      'src/actions/all.ts',
      '-o',
      'dist/actions',
      '--license',
      'licenses.txt',
      '--transpile-only',
      '-q'
    ])
    writeFileSync(join(dir, 'dist/actions/package.json'), '{\n  "type": "module"\n}\n')
    for (const name of ACTIONS) {
      const out = join(dir, 'actions', name, 'dist')
      rmSync(out, { recursive: true, force: true })
      mkdirSync(out, { recursive: true })
      writeFileSync(join(out, 'package.json'), '{\n  "type": "module"\n}\n')
      writeFileSync(
        join(out, 'index.js'),
        `import { runNamed } from '../../../dist/actions/index.js'\nawait runNamed('${name}')\n`
      )
    }
    sh(dir, process.execPath, ['scripts/build-cli.mjs'])
  }
  try {
    return measure(dir, build, ['actions', 'dist', 'cli/dist'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const MB = (n: number): string => `${(n / 1e6).toFixed(2)} MB`
const a = today()
const b = shared()
console.log(`actions: ${ACTIONS.length} (+ the CLI bundle in both layouts)`)
console.log('| figure | per-action bundles (today) | one shared bundle | shared / today |')
console.log('| --- | --- | --- | --- |')
const row = (name: string, x: number, y: number, fmt: (n: number) => string): void =>
  console.log(`| ${name} | ${fmt(x)} | ${fmt(y)} | ${(y / x).toFixed(2)} |`)
row('bytes committed (bundles)', a.committed, b.committed, MB)
row('files changed by one line in src/core', a.changedFiles, b.changedFiles, String)
console.log(
  `| lines changed in git by it (text files) | ${a.lines} (+${a.binary} files git calls binary) | ${b.lines} (+${b.binary} binary) | |`
)
row('new object bytes (zlib) it writes', a.newObjectBytes, b.newObjectBytes, MB)
row('pack growth after repack', a.packGrowth, b.packGrowth, MB)
row('full build, s', a.buildSeconds, b.buildSeconds, (n) => n.toFixed(1))
row('rebuild after the change, s', a.rebuildSeconds, b.rebuildSeconds, (n) => n.toFixed(1))
row('start-up of an entry (slo-report, median of 5), ms', a.startMs, b.startMs, (n) => n.toFixed(0))
console.log(`smoke (slo-report, no inputs): today ${a.smoke}; shared ${b.smoke}`)
