import { fileURLToPath } from 'node:url'
import type { Lab } from '../../lab/lab.js'
import { freePort } from '../../lab/ports.js'
import { httpOk } from '../../lab/process.js'

const SCRIPT = fileURLToPath(new URL('../fixtures/scan/fake-github.mjs', import.meta.url))

export interface FakeIssue {
  number: number
  state: string
  title: string
  body: string
  state_reason?: string
  labels: { name: string }[]
  pull_request?: object
}

export interface FakeGitHub {
  url: string
  state(): Promise<{
    issues: FakeIssue[]
    comments: { issue: number; body: string }[]
    requests: string[]
  }>
  seed(issues: Partial<FakeIssue>[]): Promise<void>
}

/** Starts test/fixtures/scan/fake-github.mjs through the lab (stopped with it). */
export async function startFakeGitHub(
  lab: Lab,
  name: string,
  token: string,
  readOnly = false
): Promise<FakeGitHub> {
  const port = await freePort()
  const argv = [
    process.execPath,
    SCRIPT,
    `--port=${port}`,
    `--token=${token}`,
    ...(readOnly ? ['--read-only'] : [])
  ]
  const proc = lab.spawn(name, argv)
  const url = `http://127.0.0.1:${port}`
  await proc.waitReady(() => httpOk(`${url}/__state`), 10_000)
  return {
    url,
    state: async () =>
      (await (await fetch(`${url}/__state`)).json()) as Awaited<ReturnType<FakeGitHub['state']>>,
    seed: async (issues) => {
      const res = await fetch(`${url}/__seed`, { method: 'POST', body: JSON.stringify(issues) })
      await res.arrayBuffer()
    }
  }
}
