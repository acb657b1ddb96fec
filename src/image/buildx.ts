import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ToolError } from '../core/errors.js'
import { runChecked } from '../core/exec.js'
import { DIGEST } from './reference.js'

export interface BuildRequest {
  /** Repository without tag, e.g. ghcr.io/org/app. */
  name: string
  tags: string[]
  labels: Record<string, string>
  context: string
  file?: string
  platforms: string[]
  buildArgs: string[]
  /** build-push-action's names: buildx --cache-from/--cache-to (type=gha, registry, local…). */
  cacheFrom?: string[]
  cacheTo?: string[]
  /** `true`, `false` or a buildx attestation value such as `mode=max`. */
  provenance?: string
  sbom?: string
  target?: string
  /** `[type:]key=value` (type index, manifest, index-descriptor, manifest-descriptor). */
  annotations?: string[]
  /** Build secrets `id=value`: passed to buildx as files, never on its command line. */
  secrets?: Record<string, string>
}

const attestation = (kind: string, value: string | undefined): string[] =>
  value === undefined ? [] : [`--${kind}=${value}`]

/**
 * The exact `docker buildx build` command line: argument list, pushed, digest to a metadata
 * file. `secretFiles` maps each secret id to the file holding its value.
 */
export function buildxArgv(
  req: BuildRequest,
  metadataFile: string,
  secretFiles: Record<string, string> = {}
): string[] {
  return [
    'docker',
    'buildx',
    'build',
    ...(req.file ? ['--file', req.file] : []),
    ...(req.target ? ['--target', req.target] : []),
    ...(req.platforms.length > 0 ? ['--platform', req.platforms.join(',')] : []),
    ...req.buildArgs.flatMap((arg) => ['--build-arg', arg]),
    ...Object.entries(req.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    ...(req.annotations ?? []).flatMap((a) => ['--annotation', a]),
    ...(req.cacheFrom ?? []).flatMap((c) => ['--cache-from', c]),
    ...(req.cacheTo ?? []).flatMap((c) => ['--cache-to', c]),
    ...attestation('provenance', req.provenance),
    ...attestation('sbom', req.sbom),
    ...Object.entries(secretFiles).flatMap(([id, src]) => ['--secret', `id=${id},src=${src}`]),
    ...req.tags.flatMap((t) => ['--tag', `${req.name}:${t}`]),
    '--metadata-file',
    metadataFile,
    '--push',
    req.context
  ]
}

/** `docker login` with the password on standard input, never on the command line. */
export function dockerLoginArgv(registry: string, username: string): string[] {
  return ['docker', 'login', registry, '--username', username, '--password-stdin']
}

export async function dockerLogin(
  registry: string,
  username: string,
  password: string
): Promise<void> {
  await runChecked(dockerLoginArgv(registry, username), { input: password, secrets: [password] })
}

export function dockerLogoutArgv(registry: string): string[] {
  return ['docker', 'logout', registry]
}

/** Removes the credentials `docker login` stored in the runner's Docker config. */
export async function dockerLogout(registry: string): Promise<void> {
  await runChecked(dockerLogoutArgv(registry))
}

/** Builds and pushes with buildx; returns the pushed image's digest from the metadata file. */
export async function buildAndPush(req: BuildRequest): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'image-push-'))
  const metadataFile = join(dir, 'metadata.json')
  try {
    // Secrets go through files only this user can read, removed with the directory.
    const secretFiles: Record<string, string> = {}
    for (const [id, value] of Object.entries(req.secrets ?? {})) {
      secretFiles[id] = join(dir, `secret-${Object.keys(secretFiles).length}`)
      writeFileSync(secretFiles[id], value, { mode: 0o600 })
    }
    await runChecked(buildxArgv(req, metadataFile, secretFiles), {
      secrets: Object.values(req.secrets ?? {})
    })
    let metadata: Record<string, unknown>
    try {
      metadata = JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, unknown>
    } catch (e) {
      throw new ToolError(`docker buildx wrote no readable metadata file: ${(e as Error).message}`)
    }
    const digest = metadata['containerimage.digest']
    if (typeof digest !== 'string' || !DIGEST.test(digest)) {
      throw new ToolError(
        `docker buildx metadata has no containerimage.digest (got ${JSON.stringify(digest)})`
      )
    }
    return digest
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
