import { ToolError } from '../core/errors.js'

/**
 * An abort signal that fires only when nothing has moved for `ms`: a large blob may take as
 * long as it needs while bytes flow, and a stalled connection still fails in bounded time
 * (a whole-request timeout would abort a slow but healthy 2 GB layer).
 */
export class IdleWatchdog {
  private readonly controller = new AbortController()
  private timer: NodeJS.Timeout | undefined

  constructor(
    readonly ms: number,
    private readonly what: string
  ) {
    this.touch()
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  touch(): void {
    if (this.controller.signal.aborted) return
    clearTimeout(this.timer)
    this.timer = setTimeout(
      () =>
        this.controller.abort(
          new ToolError(`${this.what}: no data for ${this.ms / 1000}s, gave up (idle timeout)`)
        ),
      this.ms
    )
    this.timer.unref?.()
  }

  stop(): void {
    clearTimeout(this.timer)
  }

  /**
   * The stream, passed through unchanged, touching the watchdog on every chunk; a read that
   * fails because the watchdog fired fails with the watchdog's message.
   */
  watch(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const reader = stream.getReader()
    return new ReadableStream<Uint8Array>({
      pull: async (out) => {
        try {
          const { done, value } = await reader.read()
          if (done) {
            this.stop()
            out.close()
            return
          }
          this.touch()
          out.enqueue(value)
        } catch (error) {
          this.stop()
          throw idleReason(error, this.signal)
        }
      },
      cancel: async (reason) => {
        this.stop()
        await reader.cancel(reason)
      }
    })
  }
}

/** The watchdog's own error when it fired, else the original one. */
export function idleReason(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted && signal.reason instanceof ToolError) return signal.reason
  // fetch wraps a failing request body's error: surface ours, not "fetch failed".
  const cause = (error as { cause?: unknown } | undefined)?.cause
  return cause instanceof ToolError ? cause : error
}
