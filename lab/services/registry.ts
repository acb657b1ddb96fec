import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { enginePath } from '../engines.js'
import type { Lab } from '../lab.js'
import { freePort } from '../ports.js'
import type { ManagedProcess } from '../process.js'

export interface Registry {
  /** host:port, as written in image names (127.0.0.1:<port>/repo). */
  host: string
  url: string
  process: ManagedProcess
  /** The account when started with `auth`, for Basic auth requests. */
  credentials?: { username: string; password: string }
}

const BCRYPT_SALT_CHARS = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** distribution's htpasswd accepts bcrypt only; the system crypt(3) (via perl) makes one. */
function bcryptHash(password: string): string {
  const salt = Array.from(randomBytes(22), (b) => BCRYPT_SALT_CHARS[b % 64]).join('')
  return execFileSync(
    'perl',
    ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$05$${salt}`],
    {
      encoding: 'utf8'
    }
  )
}

/**
 * Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1:<free port>, storing blobs in the
 * lab directory. With `auth`, it requires HTTP Basic auth from an htpasswd file.
 */
export async function startRegistry(
  lab: Lab,
  name = 'registry',
  options: { auth?: boolean } = {}
): Promise<Registry> {
  const port = await freePort()
  const dir = lab.mkdir(name)
  const credentials = options.auth
    ? { username: 'ci', password: randomBytes(12).toString('hex') }
    : undefined
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    // As Docker Hub: manifests may reference non-distributable layers by URL (Windows bases).
    'validation:',
    '  manifests:',
    '    urls:',
    '      allow:',
    "        - '^https?://'"
  ]
  if (credentials) {
    writeFileSync(
      join(dir, 'htpasswd'),
      `${credentials.username}:${bcryptHash(credentials.password)}\n`
    )
    lines.push(
      'auth:',
      '  htpasswd:',
      '    realm: lab-registry',
      `    path: ${join(dir, 'htpasswd')}`
    )
  }
  const config = join(dir, 'config.yml')
  writeFileSync(config, `${lines.join('\n')}\n`)
  const proc = lab.spawn(name, ['/usr/bin/docker-registry', 'serve', config])
  const url = `http://127.0.0.1:${port}`
  // GET /v2/ answers 200 when open, 401 with auth on: either way the registry is serving.
  await proc.waitReady(async () => {
    const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) })
    await res.arrayBuffer()
    return credentials ? res.status === 401 : res.status === 200
  }, 15_000)
  return { host: `127.0.0.1:${port}`, url, process: proc, ...(credentials && { credentials }) }
}

/**
 * go-containerregistry's registry (pkg/registry, built by scripts/engines/ggcr-registry.sh) on
 * 127.0.0.1:<free port>: in memory, with the OCI 1.1 referrers API that distribution 2.8 lacks.
 */
export async function startReferrersRegistry(lab: Lab, name = 'ggcr-registry'): Promise<Registry> {
  const port = await freePort()
  const proc = lab.spawn(name, [enginePath('ggcr-registry'), '--address', `127.0.0.1:${port}`])
  const url = `http://127.0.0.1:${port}`
  await proc.waitReady(async () => {
    const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) })
    await res.arrayBuffer()
    return res.status === 200
  }, 15_000)
  return { host: `127.0.0.1:${port}`, url, process: proc }
}
