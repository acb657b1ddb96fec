/**
 * The table of contents of a backup, read before anything is restored: creation time (for the
 * RPO check), versions, and the tables that carry data (the default expected tables).
 * Archives: `pg_restore --list`. Plain SQL: the `-- Name: …; Type: …` comments pg_dump writes.
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { createGunzip } from 'node:zlib'
import { GateError } from '../core/errors.js'
import { runCommand } from '../core/exec.js'
import type { BackupSource } from './format.js'
import type { TableName } from './spec.js'

export interface TocEntry {
  desc: string
  schema: string
  name: string
}

export interface Toc {
  createdAt?: Date
  dbname?: string
  dumpedFrom?: string
  dumpedBy?: string
  entries: TocEntry[]
}

/** Entry kinds of more than one word, longest first, so `TABLE DATA` is not read as `TABLE`. */
const MULTI_WORD_DESCS = [
  'MATERIALIZED VIEW DATA',
  'PUBLICATION TABLES IN SCHEMA',
  'TEXT SEARCH CONFIGURATION',
  'TEXT SEARCH DICTIONARY',
  'FOREIGN DATA WRAPPER',
  'TEXT SEARCH TEMPLATE',
  'TEXT SEARCH PARSER',
  'PROCEDURAL LANGUAGE',
  'DATABASE PROPERTIES',
  'SEQUENCE OWNED BY',
  'MATERIALIZED VIEW',
  'PUBLICATION TABLE',
  'CHECK CONSTRAINT',
  'OPERATOR FAMILY',
  'OPERATOR CLASS',
  'FOREIGN SERVER',
  'SECURITY LABEL',
  'EVENT TRIGGER',
  'FOREIGN TABLE',
  'ACCESS METHOD',
  'FK CONSTRAINT',
  'INDEX ATTACH',
  'LARGE OBJECT',
  'ROW SECURITY',
  'SEQUENCE SET',
  'TABLE ATTACH',
  'USER MAPPING',
  'DEFAULT ACL',
  'SHELL TYPE',
  'TABLE DATA',
  'BLOB METADATA'
]

/** Parses `<id>; <tableoid> <oid> <DESC> <schema> <name> <owner>` (owner may be empty). */
function parseEntry(line: string): TocEntry | undefined {
  const m = /^\d+; \d+ \d+ (.+)$/.exec(line)
  if (!m) return undefined
  const rest = m[1]
  const desc = MULTI_WORD_DESCS.find((d) => rest.startsWith(`${d} `)) ?? rest.split(' ')[0]
  const words = rest.slice(desc.length + 1).split(' ')
  // Names may contain spaces; the schema is the first word and the owner the last.
  const schema = words[0]
  const name = words.length > 2 ? words.slice(1, -1).join(' ') : (words[1] ?? '')
  return { desc, schema, name }
}

/** Pure: reads `pg_restore --list` output, produced with TZ=UTC. */
export function parseTocListing(text: string): Toc {
  const toc: Toc = { entries: [] }
  for (const line of text.split('\n')) {
    const created = /^; Archive created at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/.exec(line)
    if (created) toc.createdAt = new Date(`${created[1].replace(' ', 'T')}Z`)
    const header =
      /^;\s+(dbname|Dumped from database version|Dumped by pg_dump version): (.*)$/.exec(line)
    if (header?.[1] === 'dbname') toc.dbname = header[2].trim()
    if (header?.[1] === 'Dumped from database version') toc.dumpedFrom = header[2].trim()
    if (header?.[1] === 'Dumped by pg_dump version') toc.dumpedBy = header[2].trim()
    const entry = line.startsWith(';') ? undefined : parseEntry(line)
    if (entry) toc.entries.push(entry)
  }
  return toc
}

/** Pure: one line of a plain SQL dump, folded into the TOC being built. */
export function readPlainLine(toc: Toc, line: string): void {
  if (!line.startsWith('-- ')) return
  const entry = /^-- (?:Data for )?Name: (.*); Type: (.*); Schema: (.*); Owner: .*$/.exec(line)
  if (entry) toc.entries.push({ name: entry[1], desc: entry[2], schema: entry[3] })
  const from = /^-- Dumped from database version (.+)$/.exec(line)
  if (from) toc.dumpedFrom = from[1].trim()
  const by = /^-- Dumped by pg_dump version (.+)$/.exec(line)
  if (by) toc.dumpedBy = by[1].trim()
}

/** Tables whose data the backup carries: the default list of tables that must be restored. */
export function tablesWithData(toc: Toc): TableName[] {
  return toc.entries
    .filter((e) => e.desc === 'TABLE DATA')
    .map((e) => ({ schema: e.schema, name: e.name }))
}

async function readArchiveToc(source: BackupSource, env: Record<string, string>): Promise<Toc> {
  const result = await runCommand(['pg_restore', '--list', source.path], {
    env: { ...env, TZ: 'UTC' },
    timeoutMs: 120_000
  })
  if (result.code !== 0 || result.timedOut) {
    const why = result.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${result.code}`
    throw new GateError(`the archive's table of contents cannot be read: ${why}`)
  }
  return parseTocListing(result.stdout)
}

async function readPlainToc(source: BackupSource): Promise<Toc> {
  const toc: Toc = { entries: [] }
  const file = createReadStream(source.path)
  const input = source.gzip ? file.pipe(createGunzip()) : file
  const lines = createInterface({ input, crlfDelay: Infinity })
  try {
    for await (const line of lines) readPlainLine(toc, line)
  } catch (e) {
    throw new GateError(`the SQL script cannot be read to the end: ${(e as Error).message}`)
  } finally {
    file.destroy()
  }
  return toc
}

export function readToc(source: BackupSource, env: Record<string, string> = {}): Promise<Toc> {
  return source.format === 'plain' ? readPlainToc(source) : readArchiveToc(source, env)
}
