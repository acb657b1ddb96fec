import { createServer } from 'node:net'

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** What a server's log says when another process bound its port first. */
const PORT_TAKEN = /address already in use|EADDRINUSE/i

/**
 * Runs `start` (which picks its ports with freePort() and starts a server on them) again, at
 * most `attempts` times in all, when it failed because the port was taken in between: the pick
 * is only a hint, and under parallel test workers another process can bind that port first. Any
 * other failure is thrown at once. `start` must be safe to run again after such a failure.
 */
export async function withFreshPorts<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start()
    } catch (e) {
      if (attempt >= attempts || !PORT_TAKEN.test(String((e as Error)?.message ?? e))) throw e
    }
  }
}
