/**
 * After a SIGKILL of the main step its restore (pg_restore -j and its workers, or psql) runs on
 * under PID 1 in its own process group: the post step ends that group, once it has checked the
 * leader is still one of ours (a process id can be reused).
 */
import { readFileSync } from 'node:fs'
import { log } from '../core/log.js'

/** Pure: is this /proc/<pid>/cmdline (NUL-separated) a restore this action starts? */
export function isRestoreCommand(cmdline: string): boolean {
  const program = cmdline.split('\0')[0] ?? ''
  return /(^|\/)(pg_restore|psql)$/.test(program)
}

export function endRestoreGroup(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 1) return false
  let cmdline: string
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return false // gone already (or not Linux: the dropped database ends its sessions anyway)
  }
  if (!isRestoreCommand(cmdline)) return false
  try {
    process.kill(-pid, 'SIGKILL')
    log.warning(`ended the restore left running by the main step (process group ${pid})`)
    return true
  } catch {
    return false
  }
}
