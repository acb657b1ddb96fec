/** Finds PostgreSQL client programs: PATH first, then Debian/Ubuntu's versioned directories. */
import { accessSync, constants, readdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { ToolError } from '../core/errors.js'

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** `/usr/lib/postgresql/<major>/bin`, newest first (pg_amcheck is not linked into /usr/bin there). */
function versionedBinDirs(root = '/usr/lib/postgresql'): string[] {
  try {
    return readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => join(root, v, 'bin'))
  } catch {
    return []
  }
}

export function findPgProgram(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...versionedBinDirs()]
  const found = dirs.map((d) => join(d, name)).find(executable)
  if (!found) throw new ToolError(`\`${name}\` not found on PATH nor in /usr/lib/postgresql/*/bin`)
  return found
}
