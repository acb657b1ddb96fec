import { formatCommand, runCommand, type CommandResult } from '../core/exec.js'
import { log } from '../core/log.js'
import type { Slot } from '../traffic/slots.js'

/** Commands around the switch (database migrations, smoke tests), as argument lists. */
export interface SwitchHooks {
  /** After deploy-command, before the health gate and the switch: the expand migration. */
  preSwitch?: string[]
  /** After the switch (and its verification): a failure follows the verification's rules. */
  postSwitch?: string[]
  timeoutMs?: number
}

export type HookName = 'pre-switch-command' | 'post-switch-command'

/**
 * Runs one hook on the runner (where deploy-command runs), with the slots in its environment.
 * Returns undefined when it succeeded, else what went wrong (for the error message).
 */
export async function runSwitchHook(
  name: HookName,
  argv: string[],
  env: { mode: string; slot: Slot; previous?: Slot },
  timeoutMs = 30 * 60_000
): Promise<string | undefined> {
  return log.group(`${name} (slot ${env.slot})`, async () => {
    let result: CommandResult
    try {
      result = await runCommand(argv, {
        env: {
          OPS_MODE: env.mode,
          OPS_SLOT: env.slot,
          OPS_TARGET_SLOT: env.slot,
          OPS_PREVIOUS_SLOT: env.previous ?? ''
        },
        timeoutMs
      })
    } catch (error) {
      // A program that cannot start is a failed hook too: after the switch it must roll back.
      return `${name} \`${formatCommand(argv)}\` could not start: ${(error as Error).message}`
    }
    if (result.stdout.trim()) log.info(result.stdout.trimEnd())
    if (result.code === 0 && !result.timedOut) return undefined
    const how = result.timedOut
      ? `timed out after ${Math.round(timeoutMs / 1000)}s`
      : `exited with ${result.code}${result.signal ? ` (${result.signal})` : ''}`
    const tail = result.stderr.trim().split('\n').slice(-5).join(' | ')
    return `${name} \`${formatCommand(argv)}\` ${how}${tail ? `: ${tail}` : ''}`
  })
}
