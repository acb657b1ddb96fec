/**
 * Runs a router's changes one after another: a second change (a cancel's undo) waits for the
 * one in progress, never interleaves with it, whether that one succeeds or fails.
 */
export class ChangeQueue {
  private last: Promise<void> = Promise.resolve()

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.last.then(work, work)
    this.last = next.then(
      () => undefined,
      () => undefined
    )
    return next
  }
}
