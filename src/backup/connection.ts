/**
 * The admin connection, turned into libpq environment variables so the password never appears
 * on a command line (visible in `ps`) nor in a log line: programs get PGPASSWORD in their env.
 */
import { ConfigurationError } from '../core/errors.js'
import { log } from '../core/log.js'

export interface Connection {
  /** PGHOST, PGPORT, PGUSER, PGPASSWORD, ... without PGDATABASE. */
  env: Record<string, string>
  /** The database named in the URL (default `postgres`): where scratch databases are created from. */
  adminDatabase: string
  /** `user@host:port`, safe to print. */
  display: string
}

/** URL query parameters libpq knows, and the environment variable each maps to. */
const PARAMETER_ENV: Record<string, string> = {
  host: 'PGHOST',
  port: 'PGPORT',
  user: 'PGUSER',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  target_session_attrs: 'PGTARGETSESSIONATTRS'
}

const HELP =
  'expected postgresql://user:password@host:port/database (the value is not shown: it may contain a password)'

function invalid(input: string, why: string): never {
  throw new ConfigurationError(`input \`${input}\`: ${why}; ${HELP}`, input)
}

/** Parses the URL without ever echoing it; registers the password as a secret first. */
export function parseDatabaseUrl(input: string, raw: string): Connection {
  const text = raw.trim()
  log.secret(text)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return invalid(input, 'not a URL')
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') invalid(input, 'wrong scheme')
  const password = decodeURIComponent(url.password)
  log.secret(password)
  log.secret(url.password)
  const env: Record<string, string> = { PGCONNECT_TIMEOUT: '10' }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (host) env.PGHOST = decodeURIComponent(host)
  if (url.port) env.PGPORT = url.port
  if (url.username) env.PGUSER = decodeURIComponent(url.username)
  if (password) env.PGPASSWORD = password
  for (const [key, value] of url.searchParams) {
    if (key === 'password')
      invalid(input, 'give the password in the user-info part, not as ?password=')
    const name = PARAMETER_ENV[key]
    if (!name)
      invalid(
        input,
        `unsupported parameter \`${key}\` (known: ${Object.keys(PARAMETER_ENV).join(', ')})`
      )
    env[name] = value
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres'
  const display = `${env.PGUSER ?? '(default user)'}@${env.PGHOST ?? '(local socket)'}:${env.PGPORT ?? '5432'}`
  return { env, adminDatabase: database, display }
}

/** Environment for a libpq program talking to `database`. */
export function envFor(conn: Connection, database: string): Record<string, string> {
  return { ...conn.env, PGDATABASE: database }
}
