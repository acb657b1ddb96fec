import { log } from './log.js'

/**
 * Runs `cleanup` once if the job is cancelled (the runner sends SIGINT, then SIGTERM) while
 * `work` is in progress, then exits. Used to put traffic back to a safe state on cancel.
 */
export async function withCancelCleanup<T>(
  cleanup: (signal: string) => Promise<void>,
  work: () => Promise<T>
): Promise<T> {
  let running: Promise<void> | undefined
  const handler = (signal: NodeJS.Signals): void => {
    if (running) return
    log.warning(`received ${signal}: cleaning up before exit`)
    running = cleanup(signal)
      .catch((e: unknown) => log.error(`cleanup after ${signal} failed: ${String(e)}`))
      .finally(() => process.exit(130))
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  try {
    return await work()
  } finally {
    process.off('SIGINT', handler)
    process.off('SIGTERM', handler)
  }
}
