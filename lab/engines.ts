// Where the real engines built by scripts/engines/build.sh live: one cache outside the
// repository, keyed by name and version, shared by tests, bench and the demo.
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const listFile = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'scripts',
  'engines',
  'engines.list'
)

export function enginesCache(): string {
  return process.env.OPS_ENGINES || join(homedir(), '.cache', 'ops-actions', 'engines')
}

/** The pinned version of an engine, from scripts/engines/engines.list. */
export function engineVersion(name: string): string {
  for (const line of readFileSync(listFile, 'utf8').split('\n')) {
    const [n, version] = line.trim().split(/\s+/)
    if (n === name && !n.startsWith('#')) return version
  }
  throw new Error(`engine ${name} is not listed in ${listFile}`)
}

/**
 * Absolute path of an engine's program. Throws (never skips) when it was not built, so a test
 * that needs a real engine fails loudly instead of passing on nothing.
 */
export function enginePath(name: string, program = name): string {
  const version = engineVersion(name)
  const dir = join(enginesCache(), `${name}-${version}`)
  const bin = join(dir, 'bin', program)
  if (!existsSync(join(dir, '.ok')) || !existsSync(bin)) {
    throw new Error(
      `engine ${name} ${version} is not built: run bash scripts/engines/build.sh ${name}`
    )
  }
  return bin
}
