/**
 * `ops-actions init` for EVERY combination of router, platform, registry and strategy: the
 * workflows it writes pass the project's own lint (GitHub's parser, actionlint, our rules, call
 * contracts), zizmor finds nothing, and its settings files, once the placeholders are replaced,
 * are accepted by the actions' own input readers.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { runContextFromEnv } from '../../src/core/run-context.js'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { readCanaryInputs } from '../../src/actions/canary-promote/inputs.js'
import { readDeployInputs } from '../../src/actions/deploy-bluegreen/inputs.js'
import { readActionSpec } from '../../src/cli/action-spec.js'
import { runInit } from '../../src/cli/init/command.js'
import { allCombinations, validateInit, type InitOptions } from '../../src/cli/init/options.js'
import { handEdits, PLACEHOLDER, renderInit } from '../../src/cli/init/render.js'
import { Inputs } from '../../src/core/inputs.js'
import { parseSettings } from '../../src/settings/settings-file.js'
import { layeredSource } from '../../src/settings/settings-file.js'
import { repoRoot } from '../../lab/action-yml.js'
import type { Finding } from '../../tools/workflow-lint/finding.js'

const run = promisify(execFile)
const combos = allCombinations()
const label = (c: (typeof combos)[number]): string =>
  `${c.router}-${c.platform}-${c.registry}-${c.strategy}-${c.build}`
const optionsOf = (c: (typeof combos)[number]): InitOptions =>
  validateInit({ org: 'acme', service: 'shop', environments: 'staging,production', ...c })

function capture(): {
  out: string
  err: string
  streams: { out: (t: string) => void; err: (t: string) => void }
} {
  const r = {
    out: '',
    err: '',
    streams: { out: (t: string) => void (r.out += t), err: (t: string) => void (r.err += t) }
  }
  return r
}

describe('ops-actions init output, every combination', () => {
  const dirs = new Map<string, string>()
  let lint: Record<string, { files: string[]; checkedCalls: string[]; findings: Finding[] }>
  let zizmor: { ident: string; locations?: unknown }[]

  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'ops-init-'))
    for (const c of combos) {
      const dir = join(base, label(c))
      mkdirSync(dir)
      const r = capture()
      const args = Object.entries({ org: 'acme', service: 'shop', ...c }).flatMap(([k, v]) => [
        `--${k}`,
        v
      ])
      expect(await runInit([...args, '--dir', dir], r.streams, { cwd: base })).toBe(0)
      dirs.set(label(c), dir)
    }
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test/cli/init-lint.ts'), ...dirs.values()],
      { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 }
    )
    lint = JSON.parse(stdout) as typeof lint
    const z = await run(
      'zizmor',
      [
        '--offline',
        '--format',
        'json',
        ...[...dirs.values()].map((d) => join(d, '.github/workflows'))
      ],
      { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 }
    ).catch((e: { stdout?: string; code?: number | string }) => {
      if (e.code === 'ENOENT') throw new Error('zizmor is not installed: run bash scripts/setup.sh')
      return { stdout: e.stdout ?? '' }
    })
    zizmor = JSON.parse(z.stdout) as typeof zizmor
  }, 600_000)

  it(`covers all ${combos.length} combinations`, () => {
    expect(combos.length).toBe((2 * 2 * 3 * 2 + 1 * 4 * 3 * 2) * 2)
  })

  it.each(combos.map((c) => [label(c), c]))(
    '%s: lint finds nothing and checks every call',
    (name, c) => {
      const combo = c as (typeof combos)[number]
      const report = lint[dirs.get(name as string)!]
      expect(report.files.length).toBe(4)
      expect(report.findings.map((f) => `${f.file}:${f.line} ${f.rule}: ${f.message}`)).toEqual([])
      // build + release in each deploy workflow, the switch in each rollback workflow
      expect(report.checkedCalls.length).toBe(combo.build === 'docker' ? 6 : 4)
    }
  )

  it('zizmor finds nothing in any of them', () => {
    expect(zizmor).toEqual([])
  })

  it.each(combos.map((c) => [label(c), c]))(
    "%s: the settings files, placeholders replaced, pass the actions' own input readers",
    (_name, c) => {
      const o = optionsOf(c as (typeof combos)[number])
      for (const file of renderInit(o).filter((f) => f.path.startsWith('.github/ops-actions/'))) {
        expect(file.content).toContain(PLACEHOLDER)
        // the placeholder itself is refused, naming file and key
        expect(() =>
          parseSettings(
            file.content,
            file.path,
            'deploy-bluegreen',
            Object.keys(readActionSpec(repoRoot, 'deploy-bluegreen').inputs)
          )
        ).toThrow(/still the placeholder .* written by ops-actions init/)
        const filled = file.content.split(PLACEHOLDER).join('example')
        // what the workflows pass next to the file
        const given: Record<string, string> = {
          'ssh-key': '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----',
          'ssh-known-hosts': 'lb1 ssh-ed25519 AAAA',
          kubeconfig: '/tmp/kubeconfig',
          'github-token': 'ghs_x',
          'prometheus-token': 't'
        }
        for (const action of ['deploy-bluegreen', 'canary-promote'] as const) {
          const spec = readActionSpec(repoRoot, action)
          const settings = parseSettings(filled, file.path, action, Object.keys(spec.inputs))
          const source = layeredSource(
            (n) => given[n] ?? spec.inputs[n]?.default ?? '',
            settings,
            (n) => n in given
          )
          if (action === 'deploy-bluegreen') {
            const inputs = readDeployInputs(new Inputs(source), runContextFromEnv({}))
            expect(inputs.router.kind).toBe(o.router)
          } else if (o.strategy === 'canary') {
            const inputs = readCanaryInputs(
              new Inputs((n) => (n === 'mode' ? 'run' : source(n))),
              runContextFromEnv({})
            )
            expect(inputs.mode).toBe('run')
          }
        }
      }
    }
  )
})

describe('ops-actions init command', () => {
  const flags = [
    '--org',
    'acme',
    '--service',
    'shop',
    '--router',
    'nginx',
    '--platform',
    'self-hosted-lb',
    '--registry',
    'ghcr'
  ]

  it('--dry-run prints every file and writes none; then writes; then refuses to overwrite without --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-init-'))
    const dry = capture()
    expect(await runInit([...flags, '--dry-run'], dry.streams, { cwd: dir })).toBe(0)
    expect(dry.out).toMatch(
      /==> \.github\/ops-actions\/production\.yml <==\n# ops-actions settings/
    )
    expect(dry.out).toMatch(/Still to do by hand/)
    expect(existsSync(join(dir, '.github'))).toBe(false)

    const write = capture()
    expect(await runInit(flags, write.streams, { cwd: dir })).toBe(0)
    expect(write.out).toMatch(/wrote \.github\/workflows\/ops-deploy-staging\.yml/)
    expect(statSync(join(dir, 'deploy/deploy-slot.sh')).mode & 0o111).not.toBe(0)

    writeFileSync(join(dir, '.github/ops-actions/staging.yml'), 'edited by the user\n')
    const again = capture()
    expect(await runInit(flags, again.streams, { cwd: dir })).toBe(2)
    expect(again.err).toMatch(
      /these files exist and are kept: .*\.github\/ops-actions\/staging\.yml.*--force.*nothing was written/
    )
    expect(readFileSync(join(dir, '.github/ops-actions/staging.yml'), 'utf8')).toBe(
      'edited by the user\n'
    )

    const forced = capture()
    expect(await runInit([...flags, '--force'], forced.streams, { cwd: dir })).toBe(0)
    expect(readFileSync(join(dir, '.github/ops-actions/staging.yml'), 'utf8')).toMatch(
      /router: nginx/
    )
  })

  it.each([
    [['--org', 'acme'], /needs --service, --router, --platform, --registry/],
    [
      [...flags.slice(0, 6), '--platform', 'eks', '--registry', 'ghcr'],
      /--platform = `eks`: expected for --router nginx one of `vm-ssh`, `self-hosted-lb`/
    ],
    [[...flags, '--routr', 'x'], /unknown option --routr for init; did you mean --router/],
    [
      [...flags.slice(2), '--org', 'example-org'],
      /--org = `example-org`: expected a GitHub organisation/
    ],
    [
      [...flags.slice(0, 2), '--service', 'Shop_1', ...flags.slice(4)],
      /--service = `Shop_1`: expected service name/
    ],
    [[...flags, '--environments', 'prod,../x'], /--environments = `\.\.\/x`/],
    [[...flags, '--environments', 'prod,PROD'], /each environment once/],
    [[...flags, '--registry', 'docker'], /given twice/],
    [
      [...flags.slice(0, 8), '--registry', 'dockerhub'],
      /--registry = `dockerhub`: expected one of `ghcr`, `ecr`, `other`/
    ],
    [[...flags, '--ref', 'v1;rm'], /--ref = `v1;rm`/],
    [[...flags, '--force=yes'], /--force takes no value/],
    [[...flags, '--strategy'], /--strategy needs a value/]
  ])('refuses %j with a named message', async (argv, message) => {
    const r = capture()
    expect(await runInit(argv as string[], r.streams, { cwd: tmpdir() })).toBe(2)
    expect(r.err).toMatch(message)
  })

  it('asks for missing flags only when it has a terminal', async () => {
    const asked: string[] = []
    const answers: Record<string, string> = {
      org: 'acme',
      service: 'shop',
      router: 'haproxy',
      platform: 'vm-ssh',
      registry: 'ecr'
    }
    const r = capture()
    const code = await runInit(['--dry-run', '--environments', 'production'], r.streams, {
      cwd: tmpdir(),
      ask: async (q) => {
        const flag = q.split(' ')[0]
        asked.push(flag)
        return answers[flag]
      }
    })
    expect(code).toBe(0)
    expect(asked).toEqual(['org', 'service', 'router', 'platform', 'registry'])
    expect(r.out).toMatch(/vars\.ECR_REGISTRY/)
  })

  it('lists the hand edits: only secrets, variables and hostnames (plus the VM deploy script)', () => {
    const o = validateInit({
      org: 'acme',
      service: 'shop',
      router: 'haproxy',
      platform: 'vm-ssh',
      registry: 'ghcr',
      environments: 'production'
    })
    expect(handEdits(o)).toEqual([
      '.github/ops-actions/production.yml: 4 hostnames/URLs (CHANGE-ME)',
      'environment production: secrets SSH_KEY, SSH_KNOWN_HOSTS',
      'deploy/deploy-slot.sh: how a slot gets the new version'
    ])
  })
})
