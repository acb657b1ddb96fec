/**
 * The real Trivy, offline: its CLI against the argv we build, its exit codes, its cache
 * layout, and real scans (rootfs and registry images against a fixture DB built with trivy-db,
 * fs/config with the secret and misconfiguration scanners), through the library and through
 * the bundled action, down to the gate and the SARIF.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { engineVersion } from '../../lab/engines.js'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { analyseReport } from '../../src/scan/analyse.js'
import { collectFindings } from '../../src/scan/report.js'
import { buildSarif } from '../../src/scan/sarif.js'
import { scanWithTrivy, type ScanOptions } from '../../src/scan/scan.js'
import { DEFAULT_TRIVY_VERSION } from '../../src/scan/trivy-release.js'
import { buildScanArgs, trivyVersion, type ScanType } from '../../src/scan/trivy.js'
import {
  buildFixtureDb,
  lineOf,
  PLANTED,
  projectTree,
  pushImage,
  rootfsTree,
  trivyBinary
} from './real-trivy.js'

jest.setTimeout(300_000)
const run = promisify(execFile)

let lab: Lab
let trivy: string
let cacheDir: string
let work: string
let rootfs: string
let registry: Registry

beforeAll(async () => {
  trivy = trivyBinary()
  lab = Lab.create('scan-real-')
  cacheDir = lab.mkdir('trivy-cache')
  buildFixtureDb(cacheDir)
  work = projectTree(lab.mkdir('work'))
  rootfs = rootfsTree(lab.mkdir('rootfs'))
  registry = await startRegistry(lab)
})
afterAll(async () => {
  await lab.stop()
})

/** Trivy with HOME in the lab: nothing read from or written to the real home. */
async function trivyRun(args: string[], cwd = work) {
  try {
    const { stdout, stderr } = await run(trivy, args, {
      cwd,
      env: { PATH: process.env.PATH, HOME: lab.mkdir('home') },
      maxBuffer: 64 << 20
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

function options(overrides: Partial<ScanOptions>): ScanOptions {
  return {
    scanType: 'fs',
    scanners: ['vuln'],
    trivyPath: trivy,
    version: DEFAULT_TRIVY_VERSION,
    toolCacheDir: lab.mkdir('tools'),
    tempDir: lab.mkdir('tmp'),
    cacheDir,
    outputFile: join(lab.mkdir('out'), `${Math.random().toString(36).slice(2)}.json`),
    now: new Date(),
    offline: true,
    timeoutMs: 240_000,
    ...overrides
  }
}

describe('the CLI contract, against the real binary', () => {
  it('is the pinned default version, and trivyVersion() reads it', async () => {
    expect(engineVersion('trivy')).toBe(`v${DEFAULT_TRIVY_VERSION}`)
    expect(await trivyVersion(trivy)).toBe(DEFAULT_TRIVY_VERSION)
  })

  it.each(['image', 'fs', 'repo', 'config', 'sbom', 'rootfs'] as ScanType[])(
    'trivy %s accepts every flag we pass it',
    async (scanType) => {
      const { stdout, code } = await trivyRun([scanType, '--help'])
      expect(code).toBe(0)
      const argv = buildScanArgs('trivy', {
        scanType,
        target: 'x',
        scanners: scanType === 'config' ? ['misconfig'] : ['vuln'],
        cacheDir: '/c',
        outputFile: '/o',
        skipDbUpdate: true,
        offline: true,
        timeoutMs: 60_000,
        skipDirs: ['a'],
        skipFiles: ['b'],
        dbRepositories: ['r.local/db'],
        javaDbRepositories: ['r.local/jdb'],
        checksBundleRepository: 'r.local/checks',
        ...(scanType === 'image' ? { input: '/i.tar' } : {})
      })
      const flags = argv.filter((a) => a.startsWith('--') && a !== '--')
      const known = new Set(stdout.match(/--[a-z0-9-]+/g))
      expect(flags.filter((f) => !known.has(f))).toEqual([])
    }
  )

  it('--download-db-only and --download-java-db-only exist as the DB steps use them', async () => {
    const { stdout } = await trivyRun(['image', '--help'])
    for (const flag of ['--download-db-only', '--download-java-db-only', '--db-repository'])
      expect(stdout).toContain(flag)
  })

  it('exit codes: 0 with findings under --exit-code 0, 1 with --exit-code 1, non-zero when it cannot scan', async () => {
    const common = ['rootfs', '--cache-dir', cacheDir, '--skip-db-update', '--offline-scan']
    const quiet = ['--format', 'json', '--quiet', '--skip-version-check']
    expect((await trivyRun([...common, ...quiet, '--exit-code', '0', rootfs])).code).toBe(0)
    expect((await trivyRun([...common, ...quiet, '--exit-code', '1', rootfs])).code).toBe(1)
    const missing = await trivyRun([...common, ...quiet, '--exit-code', '0', join(work, 'nope')])
    expect(missing.code).not.toBe(0)
  })

  it('reads the DB only from <cache-dir>/db: without it, --skip-db-update cannot scan', async () => {
    const empty = lab.mkdir('empty-cache')
    const r = await trivyRun([
      'rootfs',
      '--cache-dir',
      empty,
      '--skip-db-update',
      '--offline-scan',
      '--quiet',
      rootfs
    ])
    expect(r.code).not.toBe(0)
    expect(existsSync(join(cacheDir, 'db', 'trivy.db'))).toBe(true)
    expect(existsSync(join(cacheDir, 'db', 'metadata.json'))).toBe(true)
  })

  it('a ./trivy.yaml and ./.trivyignore in the working directory filter nothing with our argv', async () => {
    const dir = rootfsTree(lab.mkdir('rootfs-with-config'))
    writeFileSync(join(dir, 'trivy.yaml'), 'severity:\n  - LOW\n')
    writeFileSync(join(dir, '.trivyignore'), 'CVE-2024-5535\nCVE-2025-26519\n')
    const ours = await scanWithTrivy(options({ scanType: 'rootfs', target: dir }))
    const ids = collectFindings(ours.report).map((f) => f.id)
    expect(ids).toEqual(expect.arrayContaining(['CVE-2024-5535', 'CVE-2025-26519']))
    // the same scan without --config/--ignorefile, from that directory, loses them
    const out = join(lab.mkdir('plain'), 'r.json')
    await trivyRun(
      [
        'rootfs',
        '--cache-dir',
        cacheDir,
        '--skip-db-update',
        '--offline-scan',
        '--format',
        'json',
        '--output',
        out,
        '.'
      ],
      dir
    )
    expect(readFileSync(out, 'utf8')).not.toContain('CVE-2024-5535')
  })
})

describe('a vulnerability scan against the fixture DB', () => {
  it('rootfs: the Alpine packages, their advisories and fixed versions, from trivy-db', async () => {
    const outcome = await scanWithTrivy(options({ scanType: 'rootfs', target: rootfs }))
    const [result] = outcome.report.Results ?? []
    expect(result).toMatchObject({ Class: 'os-pkgs', Type: 'alpine' })
    const found = collectFindings(outcome.report).map((f) => [f.id, f.pkgName, f.severity, f.fixed])
    expect(found.sort()).toEqual(
      [
        ['CVE-2024-0727', 'libcrypto3', 'MEDIUM', '3.1.4-r5'],
        ['CVE-2024-0727', 'libssl3', 'MEDIUM', '3.1.4-r5'],
        ['CVE-2024-5535', 'libcrypto3', 'CRITICAL', '3.1.6-r0'],
        ['CVE-2024-5535', 'libssl3', 'CRITICAL', '3.1.6-r0'],
        ['CVE-2025-26519', 'musl', 'HIGH', '1.2.4_git20230717-r5']
      ].sort()
    )
    // fixed before the installed version: not reported (busybox r15, openssl's CVE-2023-5363)
    expect(found.some(([id]) => id === 'CVE-2023-42363' || id === 'CVE-2023-5363')).toBe(false)
    const analysis = analyseReport(outcome.report, {
      severities: new Set(['CRITICAL', 'HIGH']),
      ignoreUnfixed: true,
      ignoreRules: [],
      now: new Date()
    })
    // Trivy marks Alpine advisories `fixed`: ignore-unfixed keeps them all
    expect(analysis.findings).toHaveLength(5)
    expect(analysis.gate.failing.map((f) => f.id)).toEqual([
      'CVE-2024-5535',
      'CVE-2024-5535',
      'CVE-2025-26519'
    ])
  })

  it('the same image at two tags in a registry: identical SARIF locations and fingerprints', async () => {
    const base = registry.url.replace(/\/$/, '')
    await pushImage(base, 'acme/api', '1.2.3', rootfs)
    await pushImage(base, 'acme/api', '1.2.4', rootfs)
    const sarifs = []
    for (const tag of ['1.2.3', '1.2.4']) {
      const { report } = await scanWithTrivy(
        options({
          scanType: 'image',
          target: `${registry.host}/acme/api:${tag}`,
          scanners: ['vuln']
        })
      )
      expect(report.ArtifactName).toBe(`${registry.host}/acme/api:${tag}`)
      const run = JSON.parse(buildSarif(collectFindings(report), report).text).runs[0]
      sarifs.push(
        run.results.map(
          (r: { ruleId: string; locations: unknown; partialFingerprints: unknown }) => [
            r.ruleId,
            r.locations,
            r.partialFingerprints
          ]
        )
      )
    }
    expect(sarifs[0]).toHaveLength(5)
    expect(sarifs[1]).toEqual(sarifs[0])
    expect(JSON.stringify(sarifs[0])).toContain('"uri":"acme/api"')
    expect(JSON.stringify(sarifs[0])).not.toContain('1.2.3')
  })

  it('repo: a local git repository, its lockfile advisories and planted secrets, labelled repo', async () => {
    const repo = projectTree(lab.mkdir('git-repo'))
    const git = (...args: string[]) =>
      run('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: repo })
    await git('init', '-q')
    await git('add', '-A')
    await git('commit', '-qm', 'fixture')
    const { report } = await scanWithTrivy(
      options({ scanType: 'repo', target: repo, scanners: ['vuln', 'secret'] })
    )
    expect(report.ArtifactType).toBe('repository')
    const found = collectFindings(report).map((f) => [f.kind, f.id, f.target])
    expect(found).toEqual(
      expect.arrayContaining([
        ['vulnerability', 'CVE-2019-10744', 'services/api/package-lock.json'],
        ['secret', 'aws-access-key-id', 'services/api/config/settings.py'],
        ['secret', 'github-pat', 'services/api/config/settings.py']
      ])
    )
  })

  it('sbom: a CycloneDX SBOM of the root filesystem finds what the rootfs scan finds', async () => {
    const sbom = join(lab.mkdir('sbom'), 'rootfs.cdx.json')
    const made = await trivyRun([
      'rootfs',
      '--format',
      'cyclonedx',
      '--output',
      sbom,
      '--cache-dir',
      cacheDir,
      '--skip-db-update',
      '--offline-scan',
      '--quiet',
      rootfs
    ])
    expect(made.code).toBe(0)
    const fromSbom = await scanWithTrivy(options({ scanType: 'sbom', target: sbom }))
    const fromRootfs = await scanWithTrivy(options({ scanType: 'rootfs', target: rootfs }))
    const ids = (r: typeof fromSbom) =>
      collectFindings(r.report)
        .map((f) => `${f.id} ${f.pkgName} ${f.severity}`)
        .sort()
    expect(ids(fromSbom)).toHaveLength(5)
    expect(ids(fromSbom)).toEqual(ids(fromRootfs))
  })

  it('fs: a lockfile finding points at the lines Trivy found in package-lock.json', async () => {
    const { report } = await scanWithTrivy(options({ scanType: 'fs', target: work }))
    const lodash = collectFindings(report).find((f) => f.id === 'CVE-2019-10744')
    expect(lodash).toMatchObject({ pkgName: 'lodash', installed: '4.17.4', severity: 'CRITICAL' })
    const lock = join(work, 'services', 'api', 'package-lock.json')
    expect(lodash?.startLine).toBe(lineOf(lock, '"node_modules/lodash"'))
    const sarif = JSON.parse(buildSarif([lodash!], report).text).runs[0].results[0]
    expect(sarif.locations[0].physicalLocation).toMatchObject({
      artifactLocation: { uri: 'services/api/package-lock.json' },
      region: { startLine: lineOf(lock, '"node_modules/lodash"') }
    })
  })
})

describe('secrets and misconfigurations, with Trivy’s embedded checks', () => {
  it('fs with secret and misconfig scanners: planted secrets, Dockerfile, Terraform and Kubernetes', async () => {
    const { report } = await scanWithTrivy(
      options({ scanType: 'fs', target: work, scanners: ['secret', 'misconfig'] })
    )
    const findings = collectFindings(report)
    const secrets = findings.filter((f) => f.kind === 'secret')
    expect(secrets.map((s) => [s.id, s.target, s.startLine]).sort()).toEqual(
      [
        ['aws-access-key-id', 'services/api/config/settings.py', 3],
        ['github-pat', 'services/api/config/settings.py', 4]
      ].sort()
    )
    // the secret itself is masked in the report Trivy writes
    const raw = JSON.stringify(report)
    expect(raw).not.toContain(PLANTED.awsKeyId)
    const checks = findings.filter((f) => f.kind === 'misconfiguration')
    const targets = new Set(checks.map((c) => c.target))
    expect([...targets].sort()).toEqual(
      ['deploy/deployment.yaml', 'infra/main.tf', 'services/api/Dockerfile'].sort()
    )
    const ids = checks.map((c) => c.id)
    // root user in the Dockerfile; privileged container; SSH open to the world
    expect(ids).toEqual(expect.arrayContaining(['DS-0002', 'KSV-0017', 'AWS-0107']))
    expect(checks.find((c) => c.id === 'AWS-0107')).toMatchObject({
      target: 'infra/main.tf',
      severity: 'HIGH',
      resource: 'aws_security_group.web',
      startLine: 12
    })
  })

  it('a job-level TRIVY_* variable and a ./trivy-secret.yaml filter nothing (Trivy reads both unasked)', async () => {
    const cwd = lab.mkdir('cwd-with-secret-config')
    writeFileSync(
      join(cwd, 'trivy-secret.yaml'),
      'disable-rules:\n  - aws-access-key-id\n  - github-pat\n'
    )
    const saved = { ...process.env }
    const before = process.cwd()
    process.env.TRIVY_SEVERITY = 'LOW'
    process.env.TRIVY_SKIP_FILES = '**/settings.py'
    process.chdir(cwd)
    try {
      const { report } = await scanWithTrivy(
        options({ scanType: 'fs', target: work, scanners: ['secret'] })
      )
      const ids = collectFindings(report).map((f) => f.id)
      expect(ids.sort()).toEqual(['aws-access-key-id', 'github-pat'])
    } finally {
      process.chdir(before)
      process.env = saved
    }
    // the same scan without our env and --secret-config, from that directory, loses both
    const out = join(lab.mkdir('plain-secret'), 'r.json')
    const plain = await run(
      trivy,
      ['fs', '--scanners', 'secret', '--format', 'json', '--output', out, '--skip-db-update', work],
      { cwd, env: { PATH: process.env.PATH, HOME: lab.mkdir('home'), TRIVY_SEVERITY: 'LOW' } }
    )
    expect(plain.stderr).not.toMatch(/FATAL/)
    expect(readFileSync(out, 'utf8')).not.toContain('aws-access-key-id')
  })

  it('trivy config: misconfigurations only, lines and resources kept', async () => {
    const { report } = await scanWithTrivy(
      options({ scanType: 'config', target: join(work, 'infra'), scanners: ['misconfig'] })
    )
    const findings = collectFindings(report)
    expect(findings.length).toBeGreaterThan(0)
    expect(findings.every((f) => f.kind === 'misconfiguration' && f.target === 'main.tf')).toBe(
      true
    )
    expect(findings.every((f) => (f.startLine ?? 0) > 0)).toBe(true)
    expect(findings.some((f) => f.resource?.startsWith('aws_'))).toBe(true)
  })

  it('skip-dirs and skip-files reach Trivy', async () => {
    const { report } = await scanWithTrivy(
      options({
        scanType: 'fs',
        target: work,
        scanners: ['secret', 'misconfig'],
        skipDirs: ['deploy'],
        skipFiles: ['**/settings.py']
      })
    )
    const targets = new Set(collectFindings(report).map((f) => f.target))
    expect(targets.has('deploy/deployment.yaml')).toBe(false)
    expect(targets.has('services/api/config/settings.py')).toBe(false)
    expect(targets.has('infra/main.tf')).toBe(true)
  })
})

describe('the bundled action -> real Trivy -> report -> gate -> SARIF', () => {
  const env = () => ({ HOME: lab.mkdir('action-home'), GITHUB_WORKSPACE: work })

  it('rootfs, offline, from a cache-dir: exit 1 on the gate, counts, SARIF', async () => {
    const sarif = join(lab.mkdir('action-out'), 'rootfs.sarif')
    const r = await runAction(
      'security-scan',
      {
        'scan-type': 'rootfs',
        target: rootfs,
        'trivy-path': trivy,
        offline: 'true',
        'cache-dir': cacheDir,
        'sarif-file': sarif
      },
      { env: env(), cwd: work, timeoutMs: 240_000 }
    )
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({
      critical: '2',
      high: '1',
      medium: '2',
      total: '5',
      fixable: '5',
      passed: 'false'
    })
    const run = JSON.parse(readFileSync(sarif, 'utf8')).runs[0]
    expect(run.tool.driver.version).toBe(DEFAULT_TRIVY_VERSION)
    expect(run.results).toHaveLength(5)
    expect(run.automationDetails.id).toBe(`trivy:rootfs:${rootfs}/`)
    expect(r.summary).toContain('CVE-2024-5535')
  })

  it('fs of a sub-directory: SARIF and annotations use paths from the repository root', async () => {
    const sarif = join(lab.mkdir('action-out-fs'), 'fs.sarif')
    const r = await runAction(
      'security-scan',
      {
        'scan-type': 'fs',
        target: 'services/api',
        scanners: 'vuln,secret,misconfig',
        'trivy-path': trivy,
        offline: 'true',
        'cache-dir': cacheDir,
        'sarif-file': sarif
      },
      { env: env(), cwd: work, timeoutMs: 240_000 }
    )
    expect(r.exitCode).toBe(1)
    const uris = JSON.parse(readFileSync(sarif, 'utf8')).runs[0].results.map(
      (x: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) =>
        x.locations[0].physicalLocation.artifactLocation.uri
    )
    expect(new Set(uris)).toEqual(
      new Set([
        'services/api/package-lock.json',
        'services/api/config/settings.py',
        'services/api/Dockerfile'
      ])
    )
    const onFile = r.annotations.filter((a) => a.properties.file)
    expect(onFile.length).toBeGreaterThan(0)
    expect(onFile.every((a) => String(a.properties.file).startsWith('services/api/'))).toBe(true)
    expect(r.outputs.secrets).toBe('2')
  })

  it('a clean target passes with exit 0, and Trivy failing is "could not run" (exit 3)', async () => {
    const clean = lab.mkdir('clean-tree')
    mkdirSync(join(clean, 'docs'))
    writeFileSync(join(clean, 'docs', 'README.txt'), 'nothing to see\n')
    const ok = await runAction(
      'security-scan',
      {
        'scan-type': 'fs',
        target: clean,
        'trivy-path': trivy,
        offline: 'true',
        'cache-dir': cacheDir,
        'sarif-file': ''
      },
      { env: env(), cwd: clean, timeoutMs: 240_000 }
    )
    expect(ok.exitCode).toBe(0)
    expect(ok.outputs).toMatchObject({ passed: 'true', total: '0' })
    const broken = await runAction(
      'security-scan',
      {
        'scan-type': 'image',
        target: `${registry.host}/acme/missing:1`,
        'trivy-path': trivy,
        offline: 'true',
        'cache-dir': cacheDir,
        timeout: '30s'
      },
      { env: env(), cwd: clean, timeoutMs: 240_000 }
    )
    expect(broken.exitCode).toBe(3)
    expect(broken.outputs.passed).toBeUndefined()
  })
})
