/**
 * Callers for the act scenarios: the starter templates themselves, read from workflow-templates/,
 * with only the `with:` values the lab needs changed (a HAProxy on loopback instead of the
 * template's Kubernetes cluster, fast health checks). The trigger, permissions, secrets and every
 * other input stay as the template has them.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseDocument } from 'yaml'
import { REPO_ROOT, type ActRun } from '../../lab/act.js'

export function templateCaller(
  name: string,
  withValues: Record<string, string | number | boolean | undefined>,
  secrets?: Record<string, string>
): string {
  const doc = parseDocument(
    readFileSync(join(REPO_ROOT, 'workflow-templates', `${name}.yml`), 'utf8')
  )
  const jobs = doc.get('jobs') as { items: { key: { value: string } }[] }
  const job = jobs.items[0].key.value
  for (const [key, value] of Object.entries(withValues)) {
    if (value === undefined) doc.deleteIn(['jobs', job, 'with', key])
    else doc.setIn(['jobs', job, 'with', key], value)
  }
  if (secrets)
    for (const [k, v] of Object.entries(secrets)) doc.setIn(['jobs', job, 'secrets', k], v)
  return doc.toString()
}

/** Fast health checks for the lab's sample app slots. */
export function haproxyWith(
  socket: string,
  app: { blue: { url: string }; green: { url: string } }
): Record<string, string> {
  return {
    router: 'haproxy',
    'haproxy-socket': socket,
    'health-url-blue': `${app.blue.url}/healthz`,
    'health-url-green': `${app.green.url}/healthz`
  }
}

/** A readable failure: the jobs act ran and the tail of the steps' output. */
export function explain(run: ActRun): string {
  return `act exit ${run.exitCode}${run.timedOut ? ' (timed out)' : ''} in ${run.durationMs} ms; jobs: ${JSON.stringify(run.jobs)}\n${run.output.split('\n').slice(-60).join('\n')}`
}

/**
 * The scan tests' fake trivy (test/fixtures/scan/fake-trivy.mjs: the real binary cannot download
 * its vulnerability DB here) as a program of its own, passed to the reusable workflows'
 * `trivy-path` input: security-scan then uses it as a runner's preinstalled Trivy and installs
 * nothing. (A tool-cache copy is re-hashed against the release digests and refused, as it
 * must be.) FAKE_TRIVY_REPORT picks the report.
 */
export function fakeTrivyPath(version = '0.74.0'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ops-act-fake-trivy-'))
  const script = join(REPO_ROOT, 'test', 'fixtures', 'scan', 'fake-trivy.mjs')
  writeFileSync(
    join(dir, 'trivy'),
    `#!/bin/sh\nFAKE_TRIVY_VERSION=${version} exec "${process.execPath}" "${script}" "$@"\n`
  )
  chmodSync(join(dir, 'trivy'), 0o755)
  return join(dir, 'trivy')
}

export const TRIVY_REPORTS = join(REPO_ROOT, '..', 'shared', 'fixtures', 'trivy')

/** The caller repository's HEAD commit (what act reports as github.sha). */
export function headSha(dir: string): string {
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim()
}

/** Environment for the fake trivy: its report, a state dir, and a HOME of its own (the DB cache). */
export function fakeTrivyEnv(report: string): Record<string, string> {
  const state = tempDir('ops-act-trivy-')
  return {
    FAKE_TRIVY_REPORT: join(TRIVY_REPORTS, report),
    FAKE_TRIVY_STATE: state,
    HOME: state
  }
}

const made: string[] = []

/** A temp dir removed by removeTempDirs() (call it in afterAll). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

/** Registers a dir made elsewhere (e.g. makeCallerRepo) for removeTempDirs(). */
export function removeLater(dir: string): string {
  made.push(dir)
  return dir
}

export function removeTempDirs(): void {
  if (process.env.OPS_LAB_KEEP) return
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
}

export interface RegistryProxy {
  /** host:port to write in image names instead of the registry's. */
  host: string
  /** Runs `hook` once, before forwarding the next PUT of `<repo>:<tag>`'s manifest. */
  beforePut(repo: string, tag: string, hook: () => Promise<void>): void
  close(): Promise<void>
}

/**
 * A pass-through proxy in front of a lab registry that can hold one manifest PUT until a hook
 * has run: a test puts "something else happens now" between a workflow's reads and its write.
 */
export async function registryProxy(registryUrl: string): Promise<RegistryProxy> {
  const target = new URL(registryUrl)
  const hooks = new Map<string, () => Promise<void>>()
  const server = createServer((req, res) => {
    const forward = () => {
      const out = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers)
          up.pipe(res)
        }
      )
      out.on('error', () => res.destroy())
      req.pipe(out)
    }
    const hook = req.method === 'PUT' ? hooks.get(req.url ?? '') : undefined
    if (!hook) return forward()
    hooks.delete(req.url ?? '')
    req.pause()
    hook().then(forward, () => res.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    beforePut: (repo, tag, hook) => hooks.set(`/v2/${repo}/manifests/${tag}`, hook),
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}

/** The digest a registry tag names (HEAD of the manifest), or null when the tag does not exist. */
export async function tagDigest(
  registryUrl: string,
  repository: string,
  tag: string,
  accept = 'application/vnd.docker.distribution.manifest.v2+json'
): Promise<string | null> {
  const res = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept }
  })
  return res.ok ? res.headers.get('docker-content-digest') : null
}
