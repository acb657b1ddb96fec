/** The action's own SQL, as the admin role, through psql (user checks go through reader.ts). */
import { ToolError } from '../core/errors.js'
import { runCommand } from '../core/exec.js'
import { envFor, type Connection } from './connection.js'

export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`
export const quoteLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`

export interface QueryOptions {
  /** Run in a read-only transaction (user checks must not change what they check). */
  readOnly?: boolean
  /** Default 10 minutes; 0: no limit. */
  timeoutMs?: number
  /** Stops psql when aborted (a cancelled run). */
  signal?: AbortSignal
}

/** A query that ran: `error` is the server's message when the SQL failed. */
export type QueryResult = { ok: true; value: string } | { ok: false; error: string }

/** psql exits 3 on an SQL error (with ON_ERROR_STOP); 1 and 2 mean it could not talk to the server. */
const SQL_ERROR_EXIT = 3

function errorText(stderr: string): string {
  const lines = stderr.trim().split('\n')
  const first = lines.findIndex((l) => /\b(ERROR|FATAL):/.test(l))
  return (first >= 0 ? lines.slice(first) : lines)
    .slice(0, 4)
    .join(' ')
    .replace(/^psql:[^:]*:\d+: /, '')
    .replace(/\s+/g, ' ')
    .trim()
}

/** Runs SQL in `database`; the single value printed comes back as text. */
export async function query(
  conn: Connection,
  database: string,
  sql: string,
  options: QueryOptions = {}
): Promise<QueryResult> {
  const env = envFor(conn, database)
  // Row security off: a policy makes a count fail instead of silently filtering rows out.
  // search_path pg_catalog: a restored function or an ALTER DATABASE/ROLE SET search_path of
  // the backup cannot stand in for count() or format() here (client options win over both).
  env.PGOPTIONS = `-c row_security=off -c search_path=pg_catalog${options.readOnly ? ' -c default_transaction_read_only=on' : ''}`
  const result = await runCommand(
    ['psql', '-X', '-q', '-A', '-t', '-w', '-v', 'ON_ERROR_STOP=1', '-f', '-'],
    {
      env,
      input: sql,
      timeoutMs: options.timeoutMs === 0 ? undefined : (options.timeoutMs ?? 600_000),
      echo: false,
      signal: options.signal
    }
  )
  if (result.code === 0 && !result.timedOut)
    return { ok: true, value: result.stdout.replace(/\n$/, '') }
  if (result.aborted) throw new ToolError(`cancelled while running SQL in database ${database}`)
  if (result.timedOut) return { ok: false, error: `timed out after ${options.timeoutMs} ms` }
  if (result.code === SQL_ERROR_EXIT) return { ok: false, error: errorText(result.stderr) }
  throw new ToolError(`psql could not run SQL in database ${database}: ${errorText(result.stderr)}`)
}

/** Like query, but an SQL error is a ToolError: for the action's own statements. */
export async function execute(
  conn: Connection,
  database: string,
  sql: string,
  options: QueryOptions = {}
): Promise<string> {
  const result = await query(conn, database, sql, options)
  if (!result.ok) throw new ToolError(`SQL in database ${database} failed: ${result.error}`)
  return result.value
}

/** Rows of a query as objects (the query is wrapped in json_agg, so any text survives). */
export async function queryRows<T>(
  conn: Connection,
  database: string,
  sql: string,
  options: QueryOptions = {}
): Promise<T[]> {
  const text = await execute(
    conn,
    database,
    `SELECT coalesce(json_agg(q), '[]') FROM (${sql}) q`,
    options
  )
  return JSON.parse(text) as T[]
}
