/**
 * security-scan `dry-run: true` through the bundle: the plan is printed, and nothing is
 * downloaded, installed, cached, scanned or written. Outbound connections are refused and
 * recorded by a preload (no-network.mjs), so "no request was needed" is measured, not assumed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runAction } from '../../lab/runner.js'
import {
  DEFAULT_TRIVY_VERSION,
  releaseAssetName,
  TRIVY_RELEASES_URL
} from '../../src/scan/trivy-release.js'
import { FAKE_TRIVY, fixturePath } from './helpers.js'

const NO_NETWORK = fileURLToPath(new URL('./no-network.mjs', import.meta.url))
let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scan-dry-run-'))
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** A fresh HOME, tool cache and connection log for one run. */
function sandbox(name: string): { env: Record<string, string>; toolCache: string; net: string } {
  const home = join(dir, name)
  const toolCache = join(home, 'tool-cache')
  mkdirSync(toolCache, { recursive: true })
  const net = join(home, 'connections.log')
  return {
    toolCache,
    net,
    env: {
      HOME: home,
      RUNNER_TOOL_CACHE: toolCache,
      NODE_OPTIONS: `--import=${NO_NETWORK}`,
      NO_NETWORK_LOG: net,
      // the Actions cache service as a runner announces it (a call to it would be recorded)
      ACTIONS_CACHE_URL: 'http://127.0.0.1:9/',
      ACTIONS_RESULTS_URL: 'http://127.0.0.1:9/',
      ACTIONS_RUNTIME_TOKEN: 'dry-run-test-token'
    }
  }
}

const connections = (file: string): string[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []

describe('security-scan dry-run bundle', () => {
  it('without trivy-path: says what it would download and run, downloads nothing, exit 0', async () => {
    const box = sandbox('install')
    const sarif = join(dir, 'install.sarif')
    const r = await runAction(
      'security-scan',
      { target: 'registry.local/app:1', 'dry-run': 'true', 'sarif-file': sarif, issue: 'true' },
      { env: box.env }
    )
    expect(r.exitCode).toBe(0)
    expect(connections(box.net)).toEqual([])
    expect(readdirSync(box.toolCache)).toEqual([])
    expect(existsSync(sarif)).toBe(false)
    expect(r.outputs).toEqual({ passed: 'dry-run' })
    const binary = join(box.toolCache, 'trivy', DEFAULT_TRIVY_VERSION, process.arch, 'trivy')
    const asset = `${TRIVY_RELEASES_URL}/v${DEFAULT_TRIVY_VERSION}/${releaseAssetName(DEFAULT_TRIVY_VERSION, 'linux', process.arch)}`
    expect(r.summary).toContain(`would download ${asset}`)
    expect(r.summary).toContain(
      `verify its Sigstore bundle ${releaseAssetName(DEFAULT_TRIVY_VERSION, 'linux', process.arch)}.sigstore.json against Sigstore's public-good trusted root for https://github.com/aquasecurity/trivy/.github/workflows/reusable-release.yaml@refs/tags/v${DEFAULT_TRIVY_VERSION} issued by https://token.actions.githubusercontent.com`
    )
    const argv = `${binary} image --format json --output `
    expect(r.summary).toContain(argv)
    // An empty secret config of our own: a ./trivy-secret.yaml in the checkout cannot disable rules.
    expect(r.summary).toContain(
      `--cache-dir ${join(box.env.HOME, '.cache', 'trivy')} --timeout 1800s --config /dev/null --ignorefile /dev/null --skip-version-check --scanners vuln,secret --no-progress --secret-config `
    )
    expect(r.summary).toMatch(
      /--secret-config \S+\.secret-config\.yaml --skip-db-update -- registry\.local\/app:1\n/
    )
    expect(r.summary).toMatch(/Actions cache \(key trivy-db-linux-\d{4}-\d\d-\d\d/)
    expect(r.summary).toContain('| Gate | CRITICAL, HIGH |')
    expect(r.summary).toContain(`| SARIF | would write ${sarif} |`)
    expect(r.summary).toContain(
      'would open, update or close the issue for image:registry.local/app'
    )
    expect(r.stdout).toContain(argv)
  })

  it('the guard is not vacuous: the same run without dry-run tries the release server', async () => {
    const box = sandbox('control')
    const r = await runAction(
      'security-scan',
      { target: 'registry.local/app:1', 'sarif-file': '' },
      { env: box.env }
    )
    expect(r.exitCode).toBe(3)
    expect(connections(box.net)[0]).toBe('github.com:443')
    expect(r.outputs.passed).toBeUndefined()
  })

  it('with trivy-path: only asks the binary its version; prints the exact argv and gate settings', async () => {
    const box = sandbox('path')
    const calls = join(dir, 'path-calls.log')
    const r = await runAction(
      'security-scan',
      {
        'scan-type': 'fs',
        target: '.',
        'trivy-path': FAKE_TRIVY,
        severity: 'CRITICAL',
        'fail-on-findings': 'false',
        cache: 'false',
        'sarif-file': '',
        'dry-run': 'true'
      },
      { env: { ...box.env, FAKE_TRIVY_LOG: calls, FAKE_TRIVY_STATE: dir } }
    )
    expect(r.exitCode).toBe(0)
    const argvs = readFileSync(calls, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(argvs).toEqual([['version', '--format', 'json']])
    expect(connections(box.net)).toEqual([])
    expect(r.summary).toContain(`${FAKE_TRIVY} (trivy-path), Trivy 0.72.0`)
    expect(r.summary).toContain(
      `would update the Trivy DB with \`${FAKE_TRIVY} image --download-db-only`
    )
    expect(r.summary).toMatch(
      new RegExp(
        `${FAKE_TRIVY} fs --format json --output \\S+/trivy-results.json --exit-code 0 --cache-dir \\S+ --timeout 1800s --config /dev/null --ignorefile /dev/null --skip-version-check --scanners vuln,secret --no-progress --secret-config \\S+\\.secret-config\\.yaml --skip-db-update -- \\.`
      )
    )
    expect(r.summary).toContain('| Gate | CRITICAL (report only: fail-on-findings false) |')
    expect(r.outputs).toEqual({ passed: 'dry-run' })
  })

  it('without the Actions cache service (CLI, local runs) promises no cache', async () => {
    const box = sandbox('no-cache-service')
    const { ACTIONS_CACHE_URL: _v1, ACTIONS_RESULTS_URL: _v2, ...env } = box.env
    const r = await runAction('security-scan', { target: 'app:1', 'dry-run': 'true' }, { env })
    expect(r.exitCode).toBe(0)
    expect(r.summary).toContain('(no Actions cache on this runner)')
    expect(r.summary).not.toContain('from the Actions cache')
  })

  it('with report-file: does not gate the report, only says it would (exit 0 despite findings)', async () => {
    const box = sandbox('report')
    const sarif = join(dir, 'report.sarif')
    const report = fixturePath('trivy-sbom-fluentd-critical-high-low-unfixed.json')
    const r = await runAction(
      'security-scan',
      { 'report-file': report, 'sarif-file': sarif, 'dry-run': 'true' },
      { env: box.env }
    )
    expect(r.exitCode).toBe(0)
    expect(r.outputs).toEqual({ passed: 'dry-run' })
    expect(existsSync(sarif)).toBe(false)
    expect(r.summary).toContain(`would gate the existing report ${report}`)
    expect(r.summary).not.toContain('CVE-')
    expect(connections(box.net)).toEqual([])
  })

  it('bad input is still exit 2', async () => {
    const r = await runAction('security-scan', {
      target: 'x',
      severity: 'SEVERE',
      'dry-run': 'true'
    })
    expect(r.exitCode).toBe(2)
    expect(r.outputs).toEqual({})
  })

  it('an unknown trivy-signature policy is bad input, naming what is accepted', async () => {
    const r = await runAction('security-scan', {
      target: 'x',
      'trivy-signature': 'sometimes',
      'dry-run': 'true'
    })
    expect(r.exitCode).toBe(2)
    expect(r.stdout + r.stderr).toMatch(
      /input `trivy-signature` = `sometimes`: expected one of `require`, `if-present`, `off`/
    )
  })
})
