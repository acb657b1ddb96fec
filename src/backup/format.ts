/** Tells a pg_dump archive (custom, directory, tar) from a plain SQL script, by content. */
import { open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { constants as zlib, gunzipSync } from 'node:zlib'
import { ConfigurationError, errorMessage } from '../core/errors.js'

export const BACKUP_FORMATS = ['custom', 'directory', 'tar', 'plain'] as const
export type BackupFormat = (typeof BACKUP_FORMATS)[number]

export interface BackupSource {
  path: string
  format: BackupFormat
  /** A gzip-compressed plain SQL script (`.sql.gz`). */
  gzip: boolean
  sizeBytes: number
  /** The file as given when `path` is its decompressed copy (`.zst`, `.lz4`, a gzip archive). */
  givenPath?: string
}

const HEAD_BYTES = 8192

/** Pure: the format a file's first bytes show; undefined when they show none we know. */
export function formatFromHead(head: Buffer): { format: BackupFormat; gzip: boolean } | undefined {
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') return { format: 'custom', gzip: false }
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') {
    return { format: 'tar', gzip: false }
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const inner = gunzipHead(head)
    const found = inner && formatFromHead(inner)
    return found?.format === 'plain' ? { format: 'plain', gzip: true } : undefined
  }
  const text = head.toString('utf8')
  if (head.length > 0 && !head.includes(0) && !text.includes('\uFFFD')) {
    return { format: 'plain', gzip: false }
  }
  return undefined
}

function gunzipHead(head: Buffer): Buffer | undefined {
  try {
    return gunzipSync(head, { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, HEAD_BYTES)
  } catch {
    return undefined
  }
}

async function readHead(path: string): Promise<Buffer> {
  const file = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(HEAD_BYTES)
    const { bytesRead } = await file.read(buffer, 0, HEAD_BYTES, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await file.close()
  }
}

async function directorySize(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(dir, entry.name))).size
  }
  return total
}

function unreadable(path: string, why: string): never {
  throw new ConfigurationError(`input \`backup\` = \`${path}\`: ${why}`, 'backup')
}

/**
 * Finds the backup's format (or checks the one given against the content). Reads only the
 * first bytes; a backup that cannot be opened is an input error, found before anything is created.
 */
export async function inspectBackup(
  path: string,
  given: BackupFormat | 'auto'
): Promise<BackupSource> {
  let info
  try {
    info = await stat(path)
  } catch (e) {
    return unreadable(path, `cannot read it (${errorMessage(e)})`)
  }
  if (info.isDirectory()) {
    const toc = join(path, 'toc.dat')
    try {
      await readHead(toc)
    } catch (e) {
      return unreadable(
        path,
        `a directory-format archive needs a readable toc.dat (${errorMessage(e)})`
      )
    }
    if (given !== 'auto' && given !== 'directory') {
      unreadable(path, `input \`format\` says ${given}, but this is a directory-format archive`)
    }
    return { path, format: 'directory', gzip: false, sizeBytes: await directorySize(path) }
  }
  let head: Buffer
  try {
    head = await readHead(path)
  } catch (e) {
    return unreadable(path, `cannot read it (${errorMessage(e)})`)
  }
  // A UTF-8 character cut at the end of the window is not binary content.
  const found = formatFromHead(trimPartialUtf8(head))
  if (!found) {
    unreadable(
      path,
      'not a pg_dump archive (custom, directory, tar) nor a plain SQL script (optionally gzip)'
    )
  }
  if (given !== 'auto' && given !== found.format) {
    unreadable(path, `input \`format\` says ${given}, but the content is a ${found.format} backup`)
  }
  return { path, ...found, sizeBytes: info.size }
}

/** Drops up to 3 trailing bytes of an incomplete UTF-8 sequence at the end of a read window. */
function trimPartialUtf8(head: Buffer): Buffer {
  for (let back = 1; back <= Math.min(3, head.length); back++) {
    const byte = head[head.length - back]
    if ((byte & 0xc0) === 0xc0) return head.subarray(0, head.length - back)
    if ((byte & 0x80) === 0) return head
  }
  return head
}
