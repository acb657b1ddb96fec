/**
 * Dumps compressed outside pg_dump (`pg_dump -Fc | zstd`, `.dump.gz`, `.sql.lz4`): pg_restore
 * cannot read them, so they are decompressed to a temporary file first (a gzip plain script is
 * streamed instead, see restore.ts). Digests are still taken of the file as given.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGunzip, constants as zlib, gunzipSync } from 'node:zlib'
import { ConfigurationError, ToolError } from '../core/errors.js'
import { runCommand } from '../core/exec.js'

export type Compression = 'gzip' | 'zstd' | 'lz4'

/** Pure: the compression a file's first bytes show. */
export function compressionOf(head: Buffer): Compression | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd'
  if (head.readUInt32LE(0) === 0x184d2204) return 'lz4'
  return undefined
}

/** A gzip of a plain SQL script streams into psql; anything else compressed needs a file. */
function isGzipPlain(head: Buffer): boolean {
  try {
    const inner = gunzipSync(head, { finishFlush: zlib.Z_SYNC_FLUSH })
    return (
      inner.length > 0 && !inner.subarray(0, 5).equals(Buffer.from('PGDMP')) && !inner.includes(0)
    )
  } catch {
    return false
  }
}

export interface Decompressed {
  path: string
  compression: Compression
  cleanup(): Promise<void>
}

async function readHead(path: string): Promise<Buffer> {
  const file = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(8192)
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await file.close()
  }
}

/**
 * Undefined when the file is not compressed (or is a gzip plain script, streamed as it is).
 * The copy goes under `tempDir` (the run's temp dir).
 */
export async function decompressIfNeeded(
  path: string,
  tempDir: string
): Promise<Decompressed | undefined> {
  let head: Buffer
  try {
    head = await readHead(path)
  } catch {
    return undefined // a directory or unreadable: inspectBackup says why
  }
  if (head.length < 4) return undefined
  const compression = compressionOf(head)
  if (!compression || (compression === 'gzip' && isGzipPlain(head))) return undefined
  const dir = await mkdtemp(join(tempDir, 'backup-verify-'))
  const out = join(dir, basename(path).replace(/\.(gz|zst|lz4)$/, '') || 'backup')
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true })
  try {
    if (compression === 'gzip') {
      await pipeline(createReadStream(path), createGunzip(), createWriteStream(out))
    } else {
      const argv =
        compression === 'zstd'
          ? ['zstd', '-q', '-d', '-o', out, path]
          : ['lz4', '-q', '-d', path, out]
      const result = await runCommand(argv)
      if (result.code !== 0) throw new Error(result.stderr.trim().split('\n').slice(-2).join(' '))
    }
  } catch (e) {
    await cleanup()
    if (e instanceof ToolError) throw e
    throw new ConfigurationError(
      `input \`backup\` = \`${path}\`: a ${compression} file that cannot be decompressed (${(e as Error).message})`,
      'backup'
    )
  }
  return { path: out, compression, cleanup }
}
