// A plain-HTTP relay on 127.0.0.1 in front of the lab's real API server, so a test can make
// "another writer" change an object between the router's read and its patch. The conflict the
// router then meets (409 on a stale resourceVersion) is the real API server's own answer; the
// relay only chooses the moment. Requests and statuses are recorded for assertions.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { request } from 'node:https'
import type { AddressInfo } from 'node:net'

export interface RelayedRequest {
  method: string
  path: string
  contentType?: string
  status: number
}

export class KubeRaceProxy {
  readonly requests: RelayedRequest[] = []
  private readonly races = new Map<string, () => Promise<void>>()
  private server?: Server
  url = ''

  constructor(
    private readonly upstream: string,
    private readonly ca: string
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.relay(req, res))
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  /** Runs `write` (another writer) just before the next PATCH of this path is relayed. */
  raceNextPatch(path: string, write: () => Promise<void>): void {
    this.races.set(path, write)
  }

  private async relay(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const path = new URL(req.url ?? '/', 'http://relay').pathname
    const record: RelayedRequest = {
      method: req.method ?? '',
      path,
      contentType: req.headers['content-type'],
      status: 0
    }
    this.requests.push(record)
    const race = req.method === 'PATCH' ? this.races.get(path) : undefined
    if (race) {
      this.races.delete(path)
      await race()
    }
    const headers = { ...req.headers, host: new URL(this.upstream).host }
    const up = request(
      new URL(req.url ?? '/', this.upstream),
      { method: req.method, headers, ca: this.ca, timeout: 20_000 },
      (answer) => {
        record.status = answer.statusCode ?? 0
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      }
    )
    up.on('error', (error) => {
      record.status = 502
      res.writeHead(502, { 'Content-Type': 'text/plain' })
      res.end(`relay: ${error.message}`)
    })
    up.end(Buffer.concat(chunks))
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }
}
