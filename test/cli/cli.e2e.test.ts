import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { readActionYml, repoRoot } from '../../lab/action-yml.js'
import { startApp } from '../../lab/services/app.js'
import type { HaproxyInstance } from '../../lab/services/haproxy.js'
import { haproxyLab, slotCounts, type Slots } from '../deploy-bluegreen/helpers.js'
import { outputsOf, runCli } from './helpers.js'

const actions = readdirSync(join(repoRoot, 'actions')).filter((n) =>
  existsSync(join(repoRoot, 'actions', n, 'action.yml'))
)
const deployOutputs = Object.keys(readActionYml('deploy-bluegreen').outputs)

describe('ops-actions --help', () => {
  it('lists every action of the repository', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    for (const name of actions) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'))
  })

  it('without arguments prints the usage to stderr and exits 2', async () => {
    const r = await runCli([])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Usage: ops-actions <action>/)
  })

  it.each(actions)(
    '%s --help shows every input (with default and required) and output of its action.yml',
    async (name) => {
      const spec = readActionYml(name)
      const r = await runCli([name, '--help'])
      expect(r.code).toBe(0)
      for (const [input, s] of Object.entries(spec.inputs)) {
        const line = r.stdout
          .split('\n')
          .find((l) => l.startsWith(`  --${input}  `) || l === `  --${input}`)
        expect(line).toBeDefined()
        if (s.required) expect(line).toMatch(/required/)
        // A multi-line default is shown quoted on one line.
        const shown = s.default?.includes('\n') ? JSON.stringify(s.default) : s.default
        if (shown) expect(line).toContain(`default: ${shown}`)
      }
      for (const output of Object.keys(spec.outputs)) expect(r.stdout).toContain(`  ${output}: `)
    }
  )

  it('--version prints the release of package.json', async () => {
    const r = await runCli(['--version'])
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string
    }
    expect([r.code, r.stdout]).toEqual([0, `ops-actions ${pkg.version}\n`])
  })

  it.each([[], ...actions.map((a) => [a])])(
    'help %s fits a 100-column terminal',
    async (...name: string[]) => {
      const r = await runCli([...name, '--help'])
      const wide = r.stdout.split('\n').filter((l) => l.length > 100)
      expect(wide).toEqual([])
    }
  )

  it('says what failed once: no "error:" before "Configuration error:"', async () => {
    const r = await runCli(['deploy-bluegreen', '--router', 'haproxy', '--health-checks', 'x'])
    expect(r.code).toBe(2)
    expect(r.stderr).not.toMatch(/error: Configuration error/)
    expect(r.stderr).toMatch(/^Configuration error: input `/m)
  })

  it('names an unknown action and the close matches, exit 2', async () => {
    const r = await runCli(['deploy-bluegren', '--router', 'haproxy'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/unknown action `deploy-bluegren`; did you mean deploy-bluegreen\?/)
  })
})

describe('ops-actions deploy-bluegreen on a real HAProxy', () => {
  const lab = Lab.create()
  let app: Slots
  let lb: HaproxyInstance
  const base = (extra: Record<string, string> = {}): string[] => {
    const inputs: Record<string, string> = {
      router: 'haproxy',
      'haproxy-socket': lb.socket,
      'health-url-blue': `${app.blue.url}/healthz`,
      'health-url-green': `${app.green.url}/healthz`,
      'health-checks': '2',
      'health-interval': '100ms',
      'health-timeout': '3s',
      ...extra
    }
    return ['deploy-bluegreen', ...Object.entries(inputs).flatMap(([k, v]) => [`--${k}`, v])]
  }

  beforeAll(async () => {
    app = await startApp(lab)
    ;({ haproxy: lb } = await haproxyLab(lab, { app }))
  })
  afterAll(() => lab.stop())
  beforeEach(async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
  })

  it('--mode status prints the live slot as text and as outputs, exit 0', async () => {
    const r = await runCli([
      'deploy-bluegreen',
      '--router',
      'haproxy',
      '--mode',
      'status',
      '--haproxy-socket',
      lb.socket
    ])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/live blue/)
    expect(r.stdout).not.toMatch(/^::/m) // plain text, no workflow commands
    expect(outputsOf(r.stdout, deployOutputs)).toMatchObject({
      'live-slot': 'blue',
      switched: 'false'
    })
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^[a-z-]+=/)
  })

  it('deploys: switches to green, verifies through HAProxy, prints the summary, exit 0', async () => {
    const r = await runCli(
      base({ 'verify-url': lb.url, 'verify-duration': '1s', 'error-judgement': 'point' })
    )
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/switched to green/)
    expect(r.stdout).toMatch(/error rate after switch \| 0\.000% \(0\/\d+\)/)
    expect(outputsOf(r.stdout, deployOutputs)).toMatchObject({
      'live-slot': 'green',
      'previous-slot': 'blue',
      switched: 'true',
      'rolled-back': 'false'
    })
    expect(await slotCounts(lb.url)).toEqual({ green: 20 })
  })

  it('a bare boolean flag means true: --dry-run changes nothing', async () => {
    const r = await runCli([...base(), '--dry-run'])
    expect(r.code).toBe(0)
    expect(outputsOf(r.stdout, deployOutputs)).toMatchObject({ switched: 'false' })
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('a bad input exits 2 naming the input and the value; traffic untouched', async () => {
    const r = await runCli(base({ 'health-checks': 'many' }))
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /Configuration error: input `health-checks` = `many`: expected a whole number from 1 to 100/
    )
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('an unknown flag exits 2 naming it and the close matches', async () => {
    const r = await runCli([...base(), '--helth-url-green', 'http://127.0.0.1:1/'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /unknown option --helth-url-green for deploy-bluegreen; did you mean --health-url-green/
    )
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('a check that fails exits 1: unhealthy green, no switch', async () => {
    await app.green.control({ healthy: false })
    try {
      const r = await runCli(base({ 'health-timeout': '1s' }))
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/Check failed: slot green is not healthy/)
      expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
    } finally {
      await app.green.control({ healthy: true })
    }
  })

  it('canary-promote --mode abort puts all traffic back on the stable slot (main and post run), exit 0', async () => {
    await lb.command('set weight app/blue 75; set weight app/green 25')
    const r = await runCli([
      'canary-promote',
      '--router',
      'haproxy',
      '--mode',
      'abort',
      '--haproxy-socket',
      lb.socket
    ])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/canary-promote abort/)
    expect(outputsOf(r.stdout, ['result', 'final-weight'])).toEqual({
      result: 'aborted',
      'final-weight': '100'
    })
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('an unreachable router exits 3', async () => {
    const r = await runCli([
      'deploy-bluegreen',
      '--router',
      'haproxy',
      '--mode',
      'status',
      '--haproxy-socket',
      join(lab.dir, 'nothing.sock')
    ])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/Could not run: .*runtime API unreachable/)
  })
})

describe('secrets from a file or the environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-secret-'))
  const secret = 'not-a-key-but-a-secret-value'
  const ssh = [
    'deploy-bluegreen',
    '--router',
    'haproxy',
    '--haproxy-socket',
    '/run/none.sock',
    '--ssh-host',
    '127.0.0.1:1',
    '--ssh-user',
    'deploy',
    '--ssh-known-hosts',
    'x'
  ]

  it('--ssh-key-file reads the key from a file (it reaches the action, and is never printed)', async () => {
    writeFileSync(join(dir, 'key'), `${secret}\n`)
    const r = await runCli([...ssh, '--ssh-key-file', join(dir, 'key')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/input `ssh-key` \(value hidden\): expected a private key/)
    expect(r.stdout + r.stderr).not.toContain(secret)
  })

  it('OPS_SSH_KEY in the environment is used for --ssh-key', async () => {
    const r = await runCli(ssh, { OPS_SSH_KEY: secret })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/input `ssh-key` \(value hidden\): expected a private key/)
    expect(r.stdout + r.stderr).not.toContain(secret)
  })

  it('without either, the action says the key is required', async () => {
    const r = await runCli(ssh)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/input `ssh-key` is required when ssh-host is set/)
  })

  it('an unreadable --<input>-file exits 2 naming the option', async () => {
    const r = await runCli([...ssh, '--ssh-key-file', join(dir, 'missing')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/option --ssh-key-file `.*missing`: cannot read the file/)
  })
})
