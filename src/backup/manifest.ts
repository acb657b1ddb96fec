/**
 * A manifest made at dump time from the dump's own snapshot (`pg_export_snapshot()` held open
 * while `pg_dump --snapshot` runs): exact rows per table, the large-object count, the UTC
 * creation time and each file's sha256. Verification compares the restored database with it
 * exactly, so a table dumped without data, a cut data file or a changed digit cannot pass.
 */
import { readFile } from 'node:fs/promises'
import { ConfigurationError, errorMessage } from '../core/errors.js'
import type { CheckResult } from './checks.js'
import { formatTableName, type TableName } from './spec.js'

export const MANIFEST_FORMAT = 'ops-actions/backup-manifest/1'

export interface ManifestTable extends TableName {
  rows: number
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT
  /** ISO 8601 UTC: when the snapshot was taken (the RPO point). */
  createdAt: string
  database: string
  serverVersion: string
  tables: ManifestTable[]
  largeObjects: number
  /** File name (relative to a directory archive) -> sha256. */
  files: Record<string, string>
}

const count = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0

/** Pure: a manifest's text, validated field by field (it is input like any other). */
export function parseManifest(input: string, text: string): Manifest {
  const bad = (why: string): never => {
    throw new ConfigurationError(`input \`${input}\`: not a backup manifest (${why})`, input)
  }
  let m: Partial<Manifest>
  try {
    m = JSON.parse(text) as Partial<Manifest>
  } catch (e) {
    return bad(`invalid JSON: ${errorMessage(e)}`)
  }
  if (m.format !== MANIFEST_FORMAT) bad(`\`format\` must be ${MANIFEST_FORMAT}`)
  if (typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt)))
    bad('`createdAt` must be an ISO 8601 time')
  if (!Array.isArray(m.tables)) bad('`tables` must be a list')
  for (const t of m.tables ?? []) {
    if (typeof t?.schema !== 'string' || typeof t.name !== 'string' || !count(t.rows))
      bad('each table needs `schema`, `name` and a whole `rows` count')
  }
  if (!count(m.largeObjects)) bad('`largeObjects` must be a whole count')
  if (typeof m.files !== 'object' || m.files === null) bad('`files` must map names to sha256')
  for (const [name, digest] of Object.entries(m.files ?? {}))
    if (!/^[0-9a-f]{64}$/.test(String(digest)) || name.includes('/'))
      bad(`file \`${name}\` needs a lower-case sha256 and no directory part`)
  return m as Manifest
}

export async function readManifest(input: string, path: string): Promise<Manifest> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new ConfigurationError(
      `input \`${input}\` = \`${path}\`: cannot read the manifest (${errorMessage(e)})`,
      input
    )
  }
  return parseManifest(input, text)
}

const key = (t: TableName): string => `${t.schema}\u0000${t.name}`

/** Pure: each table of the manifest restored with exactly its row count, and every large object. */
export function judgeManifest(
  manifest: Manifest,
  restored: { schema: string; name: string; rows: number }[],
  largeObjects: number
): CheckResult[] {
  const rowsOf = new Map(restored.map((t) => [key(t), t.rows]))
  const wrong: string[] = []
  for (const t of manifest.tables) {
    const rows = rowsOf.get(key(t))
    if (rows === undefined)
      wrong.push(`${formatTableName(t)} is missing (${t.rows} rows at dump time)`)
    else if (rows !== t.rows)
      wrong.push(`${formatTableName(t)} has ${rows} rows, ${t.rows} at dump time`)
  }
  const tables: CheckResult = {
    kind: 'manifest',
    name: 'rows per table (manifest)',
    passed: wrong.length === 0,
    expected: `${manifest.tables.length} table(s), exact row counts of the dump's snapshot`,
    measured: wrong.length ? `${wrong.length} table(s) differ` : 'all equal',
    detail: wrong.length
      ? `restored data differs from the manifest: ${wrong.slice(0, 5).join('; ')}${wrong.length > 5 ? `; … and ${wrong.length - 5} more` : ''}`
      : undefined
  }
  const lo: CheckResult = {
    kind: 'manifest',
    name: 'large objects (manifest)',
    passed: largeObjects === manifest.largeObjects,
    expected: `${manifest.largeObjects}`,
    measured: largeObjects,
    detail:
      largeObjects === manifest.largeObjects
        ? undefined
        : `${largeObjects} large object(s) restored, ${manifest.largeObjects} at dump time`
  }
  return [tables, lo]
}
