import { afterAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from 'node:net'
import { freePort, withFreshPorts } from '../../lab/ports.js'

const listen = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })

describe('withFreshPorts', () => {
  const servers: Server[] = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  })

  it('starts again on a fresh port when another process bound the picked one first', async () => {
    const taken = await listen(0)
    servers.push(taken)
    const takenPort = (taken.address() as { port: number }).port
    const tried: number[] = []
    const server = await withFreshPorts(async () => {
      // the first pick is the port someone else took meanwhile
      const port = tried.length === 0 ? takenPort : await freePort()
      tried.push(port)
      return listen(port)
    })
    servers.push(server)
    expect(tried).toHaveLength(2)
    expect((server.address() as { port: number }).port).toBe(tried[1])
    expect(tried[1]).not.toBe(takenPort)
  })

  it('throws any other failure at once, and a clash after the last attempt', async () => {
    let calls = 0
    await expect(
      withFreshPorts(async () => {
        calls++
        throw new Error('postgres exited (1) before it was ready: bad setting')
      })
    ).rejects.toThrow(/bad setting/)
    expect(calls).toBe(1)
    calls = 0
    await expect(
      withFreshPorts(async () => {
        calls++
        throw new Error(
          'nginx exited (1): bind() to 127.0.0.1:1 failed (98: Address already in use)'
        )
      }, 2)
    ).rejects.toThrow(/Address already in use/)
    expect(calls).toBe(2)
  })
})
