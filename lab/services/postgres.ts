import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Lab } from '../lab.js'
import { freePort } from '../ports.js'
import type { ManagedProcess } from '../process.js'

const execFileAsync = promisify(execFile)

/** Debian layout first; otherwise whatever is on PATH. */
const PG_BIN = ['/usr/lib/postgresql/15/bin'].find((d) => existsSync(join(d, 'postgres'))) ?? ''
export const pgProgram = (name: string): string => (PG_BIN ? join(PG_BIN, name) : name)

export interface Postgres {
  host: string
  port: number
  user: string
  password: string
  /** postgresql://user:password@127.0.0.1:port/postgres */
  url: string
  socketDir: string
  dataDir: string
  process: ManagedProcess
  /** Environment for libpq programs (psql, pg_dump, ...) to reach this server over TCP. */
  env: Record<string, string>
  /** Runs SQL through psql (unaligned, tuples only) and returns its trimmed output. */
  psql(sql: string, db?: string): Promise<string>
}

export interface PostgresOptions {
  /** Extra `-c name=value` server settings (the bench raises memory settings). */
  settings?: Record<string, string>
}

interface OsUser {
  uid: number
  gid: number
}

/** Postgres refuses to run as root: as root, drop to the `postgres` OS user. */
async function serverUser(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number((await execFileAsync('id', ['-u', 'postgres'])).stdout.trim())
  const gid = Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim())
  return { uid, gid }
}

/** setpriv execs in place (no extra parent), so the lab's signals reach postgres itself. */
function asUser(user: OsUser | undefined, argv: string[]): string[] {
  if (!user) return argv
  return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--', ...argv]
}

function ownedDir(lab: Lab, name: string, user: OsUser | undefined, mode: number): string {
  const dir = lab.mkdir(name)
  if (user) chownSync(dir, user.uid, user.gid)
  chmodSync(dir, mode)
  return dir
}

const FAST_SETTINGS: Record<string, string> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  shared_buffers: '32MB',
  max_connections: '40',
  log_min_messages: 'warning'
}

/** A scratch PostgreSQL cluster on 127.0.0.1 with scram password auth, stopped by lab.stop(). */
export async function startPostgres(lab: Lab, options: PostgresOptions = {}): Promise<Postgres> {
  const user = await serverUser()
  const port = await freePort()
  const password = randomBytes(18).toString('hex')
  const dbUser = 'postgres'
  const dataDir = ownedDir(lab, 'pg-data', user, 0o700)
  const socketDir = ownedDir(lab, 'pg-socket', user, 0o755)
  const pwFile = join(lab.dir, 'pg-password')
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 })
  if (user) chownSync(pwFile, user.uid, user.gid)

  const initdb = asUser(user, [
    pgProgram('initdb'),
    '-D',
    dataDir,
    '--no-sync',
    '--username',
    dbUser,
    `--pwfile=${pwFile}`,
    '--auth-host=scram-sha-256',
    '--auth-local=trust',
    '--encoding=UTF8',
    '--locale=C'
  ])
  await execFileAsync(initdb[0], initdb.slice(1))
  const settings = { ...FAST_SETTINGS, ...options.settings }
  const serverArgs = [
    pgProgram('postgres'),
    '-D',
    dataDir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `port=${port}`,
    '-c',
    `unix_socket_directories=${socketDir}`,
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])
  ]
  const proc = lab.spawn('postgres', asUser(user, serverArgs))
  // SIGINT is postgres' "fast" shutdown: no waiting for clients to disconnect.
  lab.onStop(async () => {
    proc.signal('SIGINT')
    await Promise.race([proc.wait(), new Promise((r) => setTimeout(r, 10_000).unref())])
  })

  const host = '127.0.0.1'
  const env = {
    PGHOST: host,
    PGPORT: String(port),
    PGUSER: dbUser,
    PGPASSWORD: password,
    PGCONNECT_TIMEOUT: '5'
  }
  const psql = async (sql: string, db = 'postgres'): Promise<string> => {
    const { stdout } = await execFileAsync(
      pgProgram('psql'),
      ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }
    )
    return stdout.trim()
  }
  await proc.waitReady(async () => (await psql('SELECT 1')) === '1', 30_000)
  return {
    host,
    port,
    user: dbUser,
    password,
    url: `postgresql://${dbUser}:${password}@${host}:${port}/postgres`,
    socketDir,
    dataDir,
    process: proc,
    env,
    psql
  }
}
