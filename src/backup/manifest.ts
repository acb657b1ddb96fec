/**
 * A manifest made at dump time from the dump's own snapshot (`pg_export_snapshot()` held open
 * while `pg_dump --snapshot` runs): exact rows per table, the large-object count, the UTC
 * creation time and each file's sha256. The restore test compares the restored database with it
 * exactly, so a table dumped without data, a cut data file or a changed digit cannot pass.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { ConfigurationError, errorMessage, GateError } from '../core/errors.js'
import { log } from '../core/log.js'
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
  /** `hmac-sha256:<hex>` over the canonical JSON of every other field (`manifest-key`). */
  signature?: string
}

const SIGNATURE = /^hmac-sha256:([0-9a-f]{64})$/

/** Pure: JSON with object keys sorted and no spaces, so one manifest has one text to sign. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** Pure: the signature of a manifest (its `signature` field left out). */
export function signManifest(manifest: object, key: string): string {
  const rest = { ...(manifest as Record<string, unknown>), signature: undefined }
  return `hmac-sha256:${createHmac('sha256', key).update(canonicalJson(rest)).digest('hex')}`
}

/**
 * With a key, the signature must be there and match before any field is read; a mismatch is
 * a failed check (the manifest was changed, or signed with another key), not a bad input.
 */
export function checkSignature(input: string, parsed: unknown, key: string | undefined): void {
  const given = (parsed as { signature?: unknown } | null)?.signature
  if (key === undefined) {
    if (given !== undefined)
      log.warning(
        `input \`${input}\`: the manifest is signed but \`manifest-key\` is not given: its signature is not checked and the manifest is not authenticated`
      )
    return
  }
  const m = typeof given === 'string' ? SIGNATURE.exec(given) : null
  if (!m)
    throw new GateError(
      `input \`${input}\`: manifest signature missing: \`manifest-key\` is given, so the manifest must carry \`signature: hmac-sha256:<hex>\` (made by mode backup with the same key)`
    )
  const expected = SIGNATURE.exec(signManifest(parsed as object, key))?.[1] ?? ''
  if (!timingSafeEqual(Buffer.from(m[1], 'hex'), Buffer.from(expected, 'hex')))
    throw new GateError(
      `input \`${input}\`: manifest signature does not match \`manifest-key\`: the manifest was changed after it was signed, or signed with another key; nothing was restored`
    )
}

/** `manifest-key`: a secret of at least 32 characters (example: `openssl rand -hex 32`). */
export function parseManifestKey(input: string, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined
  log.secret(raw)
  if (raw.length < 32)
    throw new ConfigurationError(
      `input \`${input}\`: a key of at least 32 characters is needed (the value is not shown; example: the output of \`openssl rand -hex 32\`)`,
      input
    )
  return raw
}

const count = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0

/**
 * Pure: a manifest's text, its signature checked first when a key is given, then validated
 * field by field (it is input like any other).
 */
export function parseManifest(input: string, text: string, key?: string): Manifest {
  const bad = (why: string): never => {
    throw new ConfigurationError(`input \`${input}\`: not a backup manifest (${why})`, input)
  }
  let m: Partial<Manifest>
  try {
    m = JSON.parse(text) as Partial<Manifest>
  } catch (e) {
    return bad(`invalid JSON: ${errorMessage(e)}`)
  }
  checkSignature(input, m, key)
  if (m.format !== MANIFEST_FORMAT) bad(`\`format\` must be ${MANIFEST_FORMAT}`)
  if (typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt)))
    bad('`createdAt` must be an ISO 8601 time')
  if (!Array.isArray(m.tables)) bad('`tables` must be a list')
  for (const t of m.tables ?? []) {
    if (typeof t?.schema !== 'string' || typeof t.name !== 'string' || !count(t.rows))
      bad('each table needs `schema`, `name` and a whole `rows` count')
  }
  if (!count(m.largeObjects)) bad('`largeObjects` must be a whole count')
  if (m.signature !== undefined && !SIGNATURE.test(String(m.signature)))
    bad('`signature` must be hmac-sha256:<64 hex>')
  if (typeof m.files !== 'object' || m.files === null) bad('`files` must map names to sha256')
  for (const [name, digest] of Object.entries(m.files ?? {}))
    if (!/^[0-9a-f]{64}$/.test(String(digest)) || name.includes('/'))
      bad(`file \`${name}\` needs a lower-case sha256 and no directory part`)
  return m as Manifest
}

export async function readManifest(input: string, path: string, key?: string): Promise<Manifest> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new ConfigurationError(
      `input \`${input}\` = \`${path}\`: cannot read the manifest (${errorMessage(e)})`,
      input
    )
  }
  return parseManifest(input, text, key)
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
