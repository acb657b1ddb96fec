/**
 * The bundled action (actions/security-scan/dist) run the way the GitHub runner runs it, with a
 * fake `trivy` (the real one cannot download its DB here) and a fake GitHub issues API.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { issueMarker } from '../../src/github/issues.js'
import { startFakeGitHub, type FakeGitHub } from './fake-github.js'
import { FAKE_TRIVY, fixturePath } from './helpers.js'

const TOKEN = 'ghs_e2eTokenForTheFakeGitHub0000000000'
let dir: string
let lab: Lab
let github: FakeGitHub

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scan-e2e-'))
  lab = Lab.create('scan-e2e-')
  github = await startFakeGitHub(lab, 'fake-github', TOKEN)
})
afterAll(async () => {
  await lab.stop()
  rmSync(dir, { recursive: true, force: true })
})

const env = (extra: Record<string, string> = {}) => ({ HOME: dir, FAKE_TRIVY_STATE: dir, ...extra })
const errors = (r: Awaited<ReturnType<typeof runAction>>) =>
  r.annotations.filter((a) => a.level === 'error').map((a) => a.message)
const warnings = (r: Awaited<ReturnType<typeof runAction>>) =>
  r.annotations.filter((a) => a.level === 'warning').map((a) => a.message)

describe('security-scan bundle', () => {
  it('gates an existing report: exit 1, counts, summary, SARIF of every severity', async () => {
    const sarif = join(dir, 'fluentd.sarif')
    const r = await runAction('security-scan', {
      'report-file': fixturePath('trivy-sbom-fluentd-critical-high-low-unfixed.json'),
      'sarif-file': sarif
    })
    expect(r.exitCode).toBe(1)
    expect(errors(r)[0]).toMatch(/^Check failed: 2 finding\(s\) at the gate \(1 CRITICAL, 1 HIGH\)/)
    expect(r.outputs).toMatchObject({
      critical: '1',
      high: '1',
      medium: '0',
      low: '1',
      unknown: '0',
      fixable: '2',
      secrets: '0',
      misconfigurations: '0',
      total: '3',
      passed: 'false',
      'json-file': fixturePath('trivy-sbom-fluentd-critical-high-low-unfixed.json'),
      'sarif-file': sarif
    })
    expect(JSON.parse(readFileSync(sarif, 'utf8')).runs[0].results).toHaveLength(3)
    expect(r.summary).toContain('[CVE-2020-8165](https://avd.aquasec.com/nvd/cve-2020-8165)')
    expect(r.summary).toContain('6.0.3.1, 5.2.4.3')
  })

  it('a repository report is labelled repo, in the summary and in the SARIF category', async () => {
    const sarif = join(dir, 'repo.sarif')
    const r = await runAction('security-scan', {
      'report-file': fixturePath('trivy-repo-secrets.json'),
      'sarif-file': sarif
    })
    expect(r.exitCode).toBe(1)
    expect(r.summary).toMatch(/\| Target \| repo /)
    expect(r.summary).not.toMatch(/\| Target \| image /)
    const run = JSON.parse(readFileSync(sarif, 'utf8')).runs[0]
    expect(run.automationDetails.id).toMatch(/^trivy:repo:.*\/$/)
  })

  it('limit-severities-for-sarif keeps only the gate severities; sarif-category is used as given', async () => {
    const sarif = join(dir, 'limited.sarif')
    const r = await runAction('security-scan', {
      'report-file': fixturePath('trivy-sbom-fluentd-critical-high-low-unfixed.json'),
      'sarif-file': sarif,
      severity: 'CRITICAL',
      'limit-severities-for-sarif': 'true',
      'sarif-category': 'nightly/fluentd'
    })
    expect(r.exitCode).toBe(1)
    expect(r.outputs.total).toBe('3')
    const run = JSON.parse(readFileSync(sarif, 'utf8')).runs[0]
    expect(run.results.map((x: { ruleId: string }) => x.ruleId)).toEqual(['CVE-2019-18224'])
    expect(run.automationDetails).toEqual({ id: 'nightly/fluentd/' })
  })

  it('refuses a report of another target than `target` (a stale report passes nothing)', async () => {
    const report = join(dir, 'stale-report.json')
    writeFileSync(
      report,
      JSON.stringify({
        SchemaVersion: 2,
        ArtifactName: 'ghcr.io/acme/api:1.2.3',
        ArtifactType: 'container_image',
        Results: []
      })
    )
    const stale = await runAction('security-scan', {
      'report-file': report,
      target: 'ghcr.io/acme/api:1.2.4',
      'sarif-file': ''
    })
    expect(stale.exitCode).not.toBe(0)
    expect(stale.outputs.passed).toBeUndefined()
    expect(errors(stale).join('\n')).toMatch(
      /input `report-file` = `.*stale-report\.json` is Trivy's report of image `ghcr\.io\/acme\/api:1\.2\.3`, not of input `target` = `ghcr\.io\/acme\/api:1\.2\.4`/
    )
    const same = await runAction('security-scan', {
      'report-file': report,
      target: 'ghcr.io/acme/api:1.2.3',
      'sarif-file': ''
    })
    expect(same.exitCode).toBe(0)
    expect(same.outputs.passed).toBe('true')
  })

  it('warns that a clean image with no OS detected, or an end-of-life one, proves little', async () => {
    const write = (name: string, metadata: object) => {
      const file = join(dir, name)
      writeFileSync(
        file,
        JSON.stringify({
          SchemaVersion: 2,
          ArtifactName: 'ghcr.io/acme/static:1',
          ArtifactType: 'container_image',
          Metadata: metadata,
          Results: []
        })
      )
      return file
    }
    const noOs = await runAction('security-scan', {
      'report-file': write('no-os.json', {}),
      'sarif-file': ''
    })
    expect(noOs.outputs.passed).toBe('true')
    expect(warnings(noOs).join('\n')).toMatch(
      /Trivy detected no operating system in ghcr\.io\/acme\/static:1: its OS packages were not scanned/
    )
    expect(noOs.summary).toContain('Trivy detected no operating system')
    const eosl = await runAction('security-scan', {
      'report-file': write('eosl.json', { OS: { Family: 'debian', Name: '9.13', Eosl: true } }),
      'sarif-file': ''
    })
    expect(warnings(eosl).join('\n')).toMatch(/debian 9\.13 .* past its end of service life/)
    const fine = await runAction('security-scan', {
      'report-file': write('alpine.json', { OS: { Family: 'alpine', Name: '3.20.3' } }),
      'sarif-file': ''
    })
    expect(warnings(fine)).toEqual([])
  })

  it('fail-on-findings false reports only; ignore-unfixed and severity apply', async () => {
    const r = await runAction('security-scan', {
      'report-file': fixturePath('trivy-image-debian-buster-critical-and-unfixed.json'),
      severity: 'LOW',
      'ignore-unfixed': 'true',
      'fail-on-findings': 'false',
      'sarif-file': ''
    })
    expect(r.exitCode).toBe(0)
    expect(r.outputs).toMatchObject({
      passed: 'true',
      total: '1',
      critical: '1',
      low: '0',
      'sarif-file': ''
    })
    const r2 = await runAction('security-scan', {
      'report-file': fixturePath('trivy-image-debian-buster-critical-and-unfixed.json'),
      'fail-on-findings': 'false',
      'sarif-file': ''
    })
    expect(r2.exitCode).toBe(0)
    expect(r2.outputs.passed).toBe('false')
    expect(warnings(r2).some((w) => w.includes('fail-on-findings is false'))).toBe(true)
  })

  it('an expired ignore entry warns and stops ignoring', async () => {
    const ignore = join(dir, '.trivyignore')
    writeFileSync(ignore, 'AWS-0132 exp:2020-01-01\nAWS-0089\n')
    const r = await runAction('security-scan', {
      'report-file': fixturePath('trivy-config-terraform-misconfigs.json'),
      'ignore-file': ignore,
      'sarif-file': ''
    })
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({ misconfigurations: '2', high: '1', low: '0' })
    expect(
      warnings(r).some((w) => /ignore entry `AWS-0132` .* expired on 2020-01-01/.test(w))
    ).toBe(true)
    expect(r.summary).toContain('Expired ignore entries')
    const onFile = r.annotations.find((a) => a.message.startsWith('HIGH AWS-0132'))
    expect(onFile?.properties).toMatchObject({
      file: 'terraform-aws-modules/s3-bucket/aws/main.tf',
      line: '25'
    })
  })

  it('scans with trivy-path: installs nothing, caches nothing off GitHub, passes a clean image', async () => {
    const log = join(dir, 'clean.log')
    const r = await runAction(
      'security-scan',
      { 'scan-type': 'image', target: 'registry.local/app:1', 'trivy-path': FAKE_TRIVY },
      {
        env: env({
          FAKE_TRIVY_LOG: log,
          FAKE_TRIVY_REPORT: fixturePath('trivy-image-slmicro-clean-zero-vulns.json')
        })
      }
    )
    expect(r.exitCode).toBe(0)
    expect(r.outputs).toMatchObject({ passed: 'true', total: '0' })
    expect(r.outputs['json-file']).toMatch(/trivy-results\.json$/)
    const calls = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[])
    expect(calls.map((c) => c[0])).toEqual(['version', 'image', 'image'])
    expect(calls[2].slice(-2)).toEqual(['--', 'registry.local/app:1'])
    expect(r.summary).toContain('No findings at CRITICAL, HIGH')
  })

  it('Trivy crashing is "could not run" (exit 3), never clean, with no pass output', async () => {
    const r = await runAction(
      'security-scan',
      { target: 'registry.local/app:1', 'trivy-path': FAKE_TRIVY },
      {
        env: env({
          FAKE_TRIVY_SCAN_EXIT: '1',
          FAKE_TRIVY_REPORT: fixturePath('trivy-image-slmicro-clean-zero-vulns.json')
        })
      }
    )
    expect(r.exitCode).toBe(3)
    expect(errors(r)[0]).toMatch(
      /^Could not run: Trivy exited with 1, so the target was NOT scanned/
    )
    expect(r.outputs.passed).toBeUndefined()
  })

  it.each([
    [{ severity: 'CRITICAL,SEVERE', target: 'x' }, /input `severity` = `CRITICAL,SEVERE`/],
    [
      { 'trivy-version': 'v0.69.4', target: 'x' },
      /input `trivy-version` = `v0.69.4`: Trivy 0.69.4 is refused/
    ],
    [
      { 'scan-type': 'sbom', scanners: 'secret', target: 'x' },
      /`secret` is not available for scan-type `sbom`/
    ],
    [{ 'scan-type': 'image' }, /input `target` is required/],
    [{ target: 'x', timeout: '5 minutes' }, /input `timeout` = `5 minutes`/],
    [{ target: 'x', timeout: '0' }, /expected a duration from 1s to 6h/],
    [{ target: 'x', 'skip-dirs': 'a,--config=/tmp/x' }, /cannot start with `-`/],
    [
      { target: 'x', 'db-repository': 'https://mirror.local/trivy-db' },
      /`https:\/\/mirror.local\/trivy-db` is not an OCI repository/
    ],
    [{ target: 'x', 'trivy-sha256': 'abc' }, /input `trivy-sha256` = `abc`: expected the SHA-256/],
    [{ 'scan-type': 'fs', input: '/dev/null' }, /an image tar is scanned with scan-type `image`/],
    [{ input: '/dev/null', target: 'x' }, /inputs `input` and `target` are both set/],
    [{ input: '/nonexistent.tar' }, /input `input` = `\/nonexistent.tar`: no such file/],
    [{ target: 'x', 'trivy-config': '/nonexistent/trivy.yaml' }, /input `trivy-config`/],
    [
      { 'report-file': '/dev/null', issue: 'true', 'github-token': '' },
      /input `github-token` is required when `issue` is true/
    ],
    [
      { 'report-file': '/nonexistent/report.json' },
      /input `report-file` = `\/nonexistent\/report.json`: no such file/
    ]
  ])('bad input %j: exit 2 before anything runs', async (inputs, message) => {
    const r = await runAction('security-scan', inputs as Record<string, string>)
    expect(r.exitCode).toBe(2)
    expect(errors(r)[0]).toMatch(message)
  })

  it('issue: a directory keeps its issue however the path is spelled (./x, x/, absolute)', async () => {
    const workspace = join(dir, 'ws-spelling')
    mkdirSync(join(workspace, 'services', 'api'), { recursive: true })
    const run = (target: string, report: string) =>
      runAction(
        'security-scan',
        {
          'scan-type': 'fs',
          target,
          'trivy-path': FAKE_TRIVY,
          issue: 'true',
          'github-token': TOKEN,
          'sarif-file': ''
        },
        {
          cwd: workspace,
          env: env({
            GITHUB_API_URL: github.url,
            GITHUB_WORKSPACE: workspace,
            FAKE_TRIVY_REPORT: fixturePath(report)
          })
        }
      )
    const mine = async () =>
      (await github.state()).issues.filter((i) => i.body.includes('services/api'))
    expect((await run('./services/api', 'trivy-repo-secrets.json')).exitCode).toBe(1)
    const [opened] = await mine()
    expect(opened.body).toContain(issueMarker('fs:services/api'))
    expect((await run(`${workspace}/services/api/`, 'trivy-repo-secrets.json')).exitCode).toBe(1)
    expect(await mine()).toHaveLength(1)
    expect((await run('services/api', 'trivy-image-slmicro-clean-zero-vulns.json')).exitCode).toBe(
      0
    )
    const after = await mine()
    expect(after).toHaveLength(1)
    expect(after[0]).toMatchObject({ number: opened.number, state: 'closed' })
  })

  it('issue: opens one issue for the target, then closes it when clean', async () => {
    // keyed without the tag: the next tag updates this issue instead of opening another
    const key = 'image:registry.local/app'
    const common = {
      'scan-type': 'image',
      target: 'registry.local/app:2',
      'trivy-path': FAKE_TRIVY,
      issue: 'true',
      'github-token': TOKEN
    }
    const failing = await runAction('security-scan', common, {
      env: env({
        GITHUB_API_URL: github.url,
        FAKE_TRIVY_REPORT: fixturePath('trivy-repo-secrets.json')
      })
    })
    expect(failing.exitCode).toBe(1)
    let state = await github.state()
    const opened = state.issues.filter((i) => i.body.includes(issueMarker(key)))
    expect(opened).toHaveLength(1)
    expect(opened[0].title).toBe('Security scan: 2 finding(s) in registry.local/app:2')
    expect(opened[0].body).toContain('aws-access-key-id')
    expect(failing.masks).toContain(TOKEN)
    expect(failing.stdout.replace(`::add-mask::${TOKEN}`, '')).not.toContain(TOKEN)

    const clean = await runAction('security-scan', common, {
      env: env({
        GITHUB_API_URL: github.url,
        FAKE_TRIVY_REPORT: fixturePath('trivy-image-slmicro-clean-zero-vulns.json')
      })
    })
    expect(clean.exitCode).toBe(0)
    state = await github.state()
    expect(state.issues.find((i) => i.number === opened[0].number)?.state).toBe('closed')
    expect(existsSync(join(dir, 'db-attempts'))).toBe(true)
  })
})
