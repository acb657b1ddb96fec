/**
 * Integrity of the backup's bytes: sha256 of each file (one for custom, tar and plain; every
 * file of a directory archive) against a `sha256sum` sidecar or the manifest. pg_restore reads
 * a `-Z0` archive with one digit changed, or a directory data file cut at a line boundary,
 * without a word: only the digests (or exact row counts) notice.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { ConfigurationError, errorMessage } from '../core/errors.js'
import type { CheckResult } from './checks.js'
import type { BackupSource } from './format.js'

/** File name (relative to a directory archive, or the file's base name) -> sha256 hex. */
export type Digests = Map<string, string>

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

export async function digestBackup(source: BackupSource): Promise<Digests> {
  const digests: Digests = new Map()
  if (source.format !== 'directory') {
    const given = source.givenPath ?? source.path
    digests.set(basename(given), await sha256File(given))
    return digests
  }
  const entries = await readdir(source.path, { withFileTypes: true })
  for (const e of entries.filter((x) => x.isFile()).sort((a, b) => a.name.localeCompare(b.name)))
    digests.set(e.name, await sha256File(join(source.path, e.name)))
  return digests
}

/**
 * Pure: `sha256sum` output (`<hex>  <name>` or `<hex> *<name>`), or one bare digest for a
 * single-file backup. Names are reduced to their base name (`sha256sum dir/*` lists `dir/x`).
 */
export function parseSha256Sidecar(input: string, text: string, single?: string): Digests {
  const digests: Digests = new Map()
  const lines = text.split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'))
  for (const line of lines) {
    const bare = /^([0-9a-fA-F]{64})$/.exec(line.trim())
    if (bare && single && lines.length === 1) {
      digests.set(single, bare[1].toLowerCase())
      continue
    }
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trim())
    if (!m) {
      throw new ConfigurationError(
        `input \`${input}\` line \`${line.slice(0, 120)}\`: expected \`sha256sum\` output (\`<64 hex>  <file name>\`) or one bare digest`,
        input
      )
    }
    digests.set(basename(m[2]), m[1].toLowerCase())
  }
  if (digests.size === 0)
    throw new ConfigurationError(`input \`${input}\`: no digest in the sidecar`, input)
  return digests
}

/** A path to a sidecar file, or the 64-hex digest itself. */
export async function readSha256Input(
  input: string,
  raw: string,
  source: BackupSource
): Promise<Digests> {
  const text = raw.trim()
  const single =
    source.format === 'directory' ? undefined : basename(source.givenPath ?? source.path)
  if (/^[0-9a-fA-F]{64}$/.test(text)) return parseSha256Sidecar(input, text, single)
  let content: string
  try {
    content = await readFile(text, 'utf8')
  } catch (e) {
    throw new ConfigurationError(
      `input \`${input}\` = \`${text}\`: cannot read the sidecar (${errorMessage(e)}); give a \`sha256sum\` file or a 64-hex digest`,
      input
    )
  }
  const digests = parseSha256Sidecar(input, content, single)
  // A sidecar written as `sha256sum /path/to/shop.dump > x` names the file; one line is enough.
  if (single && digests.size === 1 && !digests.has(single))
    return new Map([[single, [...digests.values()][0]]])
  return digests
}

/** Pure: every expected file present with its digest; for a directory, no file unaccounted for. */
export function judgeIntegrity(source: string, expected: Digests, actual: Digests): CheckResult {
  const problems: string[] = []
  for (const [name, digest] of expected) {
    const seen = actual.get(name)
    if (seen === undefined) problems.push(`${name} is missing`)
    else if (seen !== digest)
      problems.push(`${name} has sha256 ${seen.slice(0, 12)}…, expected ${digest.slice(0, 12)}…`)
  }
  for (const name of actual.keys())
    if (!expected.has(name)) problems.push(`${name} is not in the ${source}`)
  return {
    kind: 'integrity',
    name: `sha256 (${source})`,
    passed: problems.length === 0,
    expected: `${expected.size} file(s) with the digests of the ${source}`,
    measured: problems.length ? `${problems.length} mismatch(es)` : `${actual.size} file(s) match`,
    detail: problems.length
      ? `backup bytes differ from the ${source}: ${problems.slice(0, 5).join('; ')}`
      : undefined
  }
}
