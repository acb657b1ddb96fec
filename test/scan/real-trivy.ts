/**
 * The real Trivy (built from its Go module into the engines cache) and what it scans here,
 * offline: a vulnerability DB built from fixture advisories with trivy-db's own code, fixture
 * trees with planted secrets, and images pushed to a registry on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { enginePath } from '../../lab/engines.js'

export const FIXTURES = fileURLToPath(new URL('../fixtures/scan/', import.meta.url))

export function trivyBinary(): string {
  return enginePath('trivy')
}

/** `<cacheDir>/db/trivy.db` + `metadata.json` from test/fixtures/scan/db, via trivy-db. */
export function buildFixtureDb(cacheDir: string): void {
  execFileSync(enginePath('trivy-db-builder'), [
    '-fixtures',
    join(FIXTURES, 'db'),
    '-cache-dir',
    cacheDir
  ])
}

/**
 * Secrets made at run time, never committed (a committed key-shaped string would be flagged
 * by every scanner that reads this repository). Each matches one of Trivy's builtin rules.
 */
export const PLANTED = {
  awsKeyId: `AKIA${'Q3VZ7N2KXW4M6PLR'}`,
  githubPat: `ghp_${'x7Hq2Lm9Vb4Nc8Rt1Ws5Yz3Kd6Fg0Jp2Aa9Bb'}`
}

/** A copy of the fixture project (Dockerfile, Terraform, Kubernetes YAML, lockfile) + secrets. */
export function projectTree(dir: string): string {
  cpSync(join(FIXTURES, 'project'), dir, { recursive: true })
  mkdirSync(join(dir, 'services', 'api', 'config'), { recursive: true })
  writeFileSync(
    join(dir, 'services', 'api', 'config', 'settings.py'),
    [
      '# deployment settings',
      'REGION = "eu-west-1"',
      `AWS_ACCESS_KEY_ID = "${PLANTED.awsKeyId}"`,
      `GITHUB_TOKEN = "${PLANTED.githubPat}"`,
      ''
    ].join('\n')
  )
  return dir
}

export function rootfsTree(dir: string): string {
  cpSync(join(FIXTURES, 'rootfs-alpine'), dir, { recursive: true })
  return dir
}

/** 1-based line of the first line of `file` containing `text`. */
export function lineOf(file: string, text: string): number {
  return (
    readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(text)) + 1
  )
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`

async function putBlob(registry: string, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data)
  const start = await fetch(`${registry}/v2/${repo}/blobs/uploads/`, { method: 'POST' })
  if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status}`)
  const location = new URL(start.headers.get('location')!, registry)
  location.searchParams.set('digest', digest)
  const put = await fetch(location, {
    method: 'PUT',
    body: data,
    headers: { 'content-type': 'application/octet-stream' }
  })
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status}`)
  return digest
}

/**
 * Pushes the root file system `rootfs` as a one-layer OCI image `repo:tag` to the registry at
 * `registry` (http://127.0.0.1:port), the way any client does: blobs, then the manifest.
 */
export async function pushImage(
  registry: string,
  repo: string,
  tag: string,
  rootfs: string
): Promise<void> {
  const layer = execFileSync('tar', ['-czf', '-', '--owner=0', '--group=0', '-C', rootfs, '.'])
  const diffId = sha256(execFileSync('gzip', ['-dc'], { input: layer }))
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created_by: 'ops-actions test fixture' }]
    })
  )
  const layerDigest = await putBlob(registry, repo, layer)
  const configDigest = await putBlob(registry, repo, config)
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: configDigest,
      size: config.length
    },
    layers: [
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: layerDigest,
        size: layer.length
      }
    ]
  })
  const res = await fetch(`${registry}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }
  })
  if (res.status !== 201) throw new Error(`manifest put: HTTP ${res.status} ${await res.text()}`)
}
