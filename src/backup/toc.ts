/**
 * The table of contents of a backup, read before anything is restored: creation time (for the
 * RPO check), versions, and the tables that carry data (the default expected tables).
 * Archives: `pg_restore --list`. Plain SQL: the `-- Name: …; Type: …` comments pg_dump writes.
 */
import { createReadStream } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { GateError, ToolError } from '../core/errors.js'
import { runCommand } from '../core/exec.js'
import type { BackupSource } from './format.js'
import { scriptLines } from './script-lines.js'
import { ScriptScanner, type ScriptScan } from './script-scan.js'
import type { TableName } from './spec.js'

export interface TocEntry {
  desc: string
  schema: string
  name: string
}

export interface Toc {
  /** `YYYY-MM-DD HH:MM:SS`: the dump machine's local time, no zone (see wall-time.ts). */
  createdWall?: string
  dbname?: string
  dumpedFrom?: string
  dumpedBy?: string
  entries: TocEntry[]
  /** Plain SQL only: the safety pre-scan and where the script ends. */
  script?: ScriptScan
  /** Archives: the same pre-scan over the DDL pg_restore would run (a crafted TOC is SQL too). */
  ddlScan?: ScriptScan
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

interface RawEntry {
  desc: string
  /** `<schema> <name> <owner>`, space separated although each part may contain spaces. */
  rest: string
}

function parseRawEntry(line: string): RawEntry | undefined {
  const m = /^\d+; \d+ \d+ (.+)$/.exec(line)
  if (!m) return undefined
  const desc = MULTI_WORD_DESCS.find((d) => m[1].startsWith(`${d} `)) ?? m[1].split(' ')[0]
  return { desc, rest: m[1].slice(desc.length + 1) }
}

/** Drops the last word (the owner); a lone word is the name itself. */
const withoutOwner = (text: string): string =>
  text.includes(' ') ? text.slice(0, text.lastIndexOf(' ')) : text

/**
 * The listing separates schema, name and owner with single spaces, so `Sales Dept Big Orders`
 * is ambiguous; the SCHEMA entries (`SCHEMA - <name> <owner>`) say which schemas exist, and the
 * longest one that prefixes the entry wins.
 */
function resolveEntries(raw: RawEntry[], exact: Map<string, TableName>): TocEntry[] {
  const schemas = new Set(['public', 'pg_catalog'])
  for (const e of raw)
    if (e.desc === 'SCHEMA' && e.rest.startsWith('- ')) schemas.add(withoutOwner(e.rest.slice(2)))
  const known = [...schemas].sort((a, b) => b.length - a.length)
  return raw.map(({ desc, rest }) => {
    const named = exact.get(rest)
    if (named) return { desc, ...named }
    const schema = known.find((s) => rest.startsWith(`${s} `)) ?? rest.split(' ')[0]
    return { desc, schema, name: withoutOwner(rest.slice(schema.length + 1)) }
  })
}

/**
 * Pure: `schema name owner` -> its parts, from the `-- Name: …; Type: …; Schema: …; Owner: …`
 * comments of `pg_restore --schema-only`, where the parts are delimited: an owner or a name
 * with spaces cannot be misread there.
 */
export function delimitedNames(script: string): Map<string, TableName> {
  const names = new Map<string, TableName>()
  for (const m of script.matchAll(
    /^-- Name: (.*); Type: (?:TABLE|MATERIALIZED VIEW|FOREIGN TABLE); Schema: (.*); Owner: (.*)$/gm
  ))
    names.set(`${m[2]} ${m[1]} ${m[3]}`, { schema: m[2], name: m[1] })
  return names
}

/** Pure: reads `pg_restore --list` output (and the delimited names, when read). */
export function parseTocListing(text: string, exact = new Map<string, TableName>()): Toc {
  const toc: Toc = { entries: [] }
  const raw: RawEntry[] = []
  for (const line of text.split('\n')) {
    const created = /^; Archive created at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/.exec(line)
    if (created) toc.createdWall = created[1]
    const header =
      /^;\s+(dbname|Dumped from database version|Dumped by pg_dump version): (.*)$/.exec(line)
    if (header?.[1] === 'dbname') toc.dbname = header[2].trim()
    if (header?.[1] === 'Dumped from database version') toc.dumpedFrom = header[2].trim()
    if (header?.[1] === 'Dumped by pg_dump version') toc.dumpedBy = header[2].trim()
    const entry = line.startsWith(';') ? undefined : parseRawEntry(line)
    if (entry) raw.push(entry)
  }
  toc.entries = resolveEntries(raw, exact)
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

/** Tables (and materialized views) whose data the backup carries: the default expected list. */
export function tablesWithData(toc: Toc): TableName[] {
  return toc.entries
    .filter((e) => e.desc === 'TABLE DATA' || e.desc === 'MATERIALIZED VIEW DATA')
    .map((e) => ({ schema: e.schema, name: e.name }))
}

async function readArchiveToc(source: BackupSource, env: Record<string, string>): Promise<Toc> {
  const result = await runCommand(['pg_restore', '--list', source.path], {
    env: { ...env, TZ: 'UTC' },
    timeoutMs: 120_000
  })
  const newer = /unsupported version \((\d+\.\d+)\) in file header/.exec(result.stderr)
  if (newer) {
    throw new ToolError(
      `the archive (format ${newer[1]}) was made by a newer pg_dump than this pg_restore can read; verify it with the client programs and server of the dump's major version or newer`
    )
  }
  if (result.code !== 0 || result.timedOut) {
    const why = result.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${result.code}`
    throw new GateError(`the archive's table of contents cannot be read: ${why}`)
  }
  // Names only (no data): where the listing is ambiguous, the DDL comments are delimited.
  const ddl = await runCommand(['pg_restore', '--schema-only', '-f', '-', source.path], {
    env,
    timeoutMs: 300_000,
    echo: false
  })
  const toc = parseTocListing(
    result.stdout,
    ddl.code === 0 ? delimitedNames(ddl.stdout) : undefined
  )
  if (ddl.code === 0) {
    const scanner = new ScriptScanner()
    for (const line of ddl.stdout.split('\n')) scanner.line(line)
    toc.ddlScan = scanner.finish()
  }
  return toc
}

async function readPlainToc(source: BackupSource): Promise<Toc> {
  const toc: Toc = { entries: [] }
  const file = createReadStream(source.path)
  const input = source.gzip ? file.pipe(createGunzip()) : file
  const scanner = new ScriptScanner()
  try {
    for await (const line of scriptLines(input)) {
      readPlainLine(toc, line)
      scanner.line(line.endsWith('\r') ? line.slice(0, -1) : line)
    }
    toc.script = scanner.finish()
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
