import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { freePort } from '../../lab/ports.js'
import { httpOk } from '../../lab/process.js'
import { ConfigurationError, ToolError } from '../../src/core/errors.js'
import { installTrivy } from '../../src/scan/install.js'
import { parseTrivyVersion } from '../../src/scan/trivy-release.js'
import { trivyVersion } from '../../src/scan/trivy.js'
import { FAKE_TRIVY } from './helpers.js'

const SERVER = fileURLToPath(new URL('../fixtures/scan/release-server.mjs', import.meta.url))
const ASSET = (v: string) => `trivy_${v}_Linux-64bit.tar.gz`

let lab: Lab

/** A release folder as GitHub serves it: `v<version>/<tarball>` and `v<version>/<checksums>`. */
function publish(
  root: string,
  version: string,
  options: { tamper?: boolean; omitSum?: boolean } = {}
): void {
  const dir = join(root, `v${version}`)
  const build = lab.mkdir('build', version)
  mkdirSync(dir, { recursive: true })
  copyFileSync(FAKE_TRIVY, join(build, 'trivy'))
  writeFileSync(join(build, 'README.md'), 'trivy\n')
  execFileSync('tar', ['-czf', join(dir, ASSET(version)), '-C', build, 'trivy', 'README.md'])
  const sum = createHash('sha256')
    .update(readFileSync(join(dir, ASSET(version))))
    .digest('hex')
  const lines = [`${'0'.repeat(64)}  trivy_${version}_Linux-ARM64.tar.gz`]
  if (!options.omitSum) lines.push(`${sum}  ${ASSET(version)}`)
  writeFileSync(join(dir, `trivy_${version}_checksums.txt`), `${lines.join('\n')}\n`)
  // the tampered archive is swapped in after the checksums were published
  if (options.tamper)
    writeFileSync(
      join(dir, ASSET(version)),
      Buffer.concat([readFileSync(join(dir, ASSET(version))), Buffer.from('x')])
    )
}

async function startServer(
  name: string,
  root: string,
  failFirst = 0
): Promise<{ url: string; log: () => Promise<string[]> }> {
  const port = await freePort()
  const proc = lab.spawn(name, [
    process.execPath,
    SERVER,
    `--root=${root}`,
    `--port=${port}`,
    `--fail-first=${failFirst}`
  ])
  const base = `http://127.0.0.1:${port}`
  await proc.waitReady(() => httpOk(`${base}/__log`), 10_000)
  return {
    url: `${base}/download`,
    log: async () => (await (await fetch(`${base}/__log`)).json()) as string[]
  }
}

beforeAll(() => {
  lab = Lab.create('scan-install-')
})
afterAll(async () => {
  await lab.stop()
})

describe('installTrivy against a local release server', () => {
  it('installs a good archive into the tool cache, then reuses it without downloading', async () => {
    const root = lab.mkdir('releases-good')
    publish(root, '0.72.0')
    const server = await startServer('release-good', root)
    const toolCacheDir = lab.mkdir('tool-cache-good')
    const options = {
      version: '0.72.0',
      toolCacheDir,
      tempDir: lab.mkdir('tmp-good'),
      baseUrl: server.url,
      platform: 'linux' as const,
      arch: 'x64'
    }

    const first = await installTrivy(options)
    expect(first.fromCache).toBe(false)
    expect(first.path).toBe(join(toolCacheDir, 'trivy', '0.72.0', 'x64', 'trivy'))
    expect(existsSync(join(toolCacheDir, 'trivy', '0.72.0', 'x64.complete'))).toBe(true)
    expect(statSync(first.path).mode & 0o111).not.toBe(0)
    expect(first.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(join(root, 'v0.72.0', ASSET('0.72.0'))))
        .digest('hex')
    )
    // only the binary is taken out of the archive
    expect(existsSync(join(toolCacheDir, 'trivy', '0.72.0', 'x64', 'README.md'))).toBe(false)
    expect(await trivyVersion(first.path)).toBe('0.72.0')

    const requestsBefore = (await server.log()).length
    const second = await installTrivy(options)
    expect(second).toEqual({ path: first.path, fromCache: true })
    expect((await server.log()).length).toBe(requestsBefore)
  })

  it('refuses a tampered archive and leaves nothing in the tool cache', async () => {
    const root = lab.mkdir('releases-tampered')
    publish(root, '0.72.0', { tamper: true })
    const server = await startServer('release-tampered', root)
    const toolCacheDir = lab.mkdir('tool-cache-tampered')
    const install = installTrivy({
      version: '0.72.0',
      toolCacheDir,
      tempDir: lab.mkdir('tmp-t'),
      baseUrl: server.url,
      platform: 'linux',
      arch: 'x64'
    })
    await expect(install).rejects.toThrow(ToolError)
    await expect(install).rejects.toThrow(
      /SHA-256 of trivy_0.72.0_Linux-64bit.tar.gz is [0-9a-f]{64}, but the release checksums file says/
    )
    expect(existsSync(join(toolCacheDir, 'trivy', '0.72.0', 'x64'))).toBe(false)
    expect(existsSync(join(toolCacheDir, 'trivy', '0.72.0', 'x64.complete'))).toBe(false)
  })

  it('refuses an archive the checksums file does not list', async () => {
    const root = lab.mkdir('releases-nosum')
    publish(root, '0.72.0', { omitSum: true })
    const server = await startServer('release-nosum', root)
    await expect(
      installTrivy({
        version: '0.72.0',
        toolCacheDir: lab.mkdir('tc-nosum'),
        tempDir: lab.mkdir('tmp-n'),
        baseUrl: server.url,
        platform: 'linux',
        arch: 'x64'
      })
    ).rejects.toThrow(/lists no checksum for trivy_0.72.0_Linux-64bit.tar.gz; refusing to install/)
    expect((await server.log()).some((p) => p.endsWith('.tar.gz'))).toBe(false)
  })

  it('refuses the compromised 0.69.4 before any download, as input and as a binary', async () => {
    const root = lab.mkdir('releases-bad')
    publish(root, '0.69.4')
    const server = await startServer('release-bad', root)
    await expect(
      installTrivy({
        version: '0.69.4',
        toolCacheDir: lab.mkdir('tc-bad'),
        tempDir: lab.mkdir('tmp-b'),
        baseUrl: server.url,
        platform: 'linux',
        arch: 'x64'
      })
    ).rejects.toThrow(/Trivy 0.69.4 is refused: malicious release/)
    expect(await server.log()).toEqual([])
    expect(() => parseTrivyVersion('trivy-version', 'v0.69.4')).toThrow(ConfigurationError)
    expect(() => parseTrivyVersion('trivy-version', 'v0.69.4')).toThrow(
      /input `trivy-version` = `v0.69.4`: Trivy 0.69.4 is refused/
    )
    process.env.FAKE_TRIVY_VERSION = 'v0.69.4'
    try {
      await expect(trivyVersion(FAKE_TRIVY)).rejects.toThrow(/Trivy v0.69.4 is refused/)
    } finally {
      delete process.env.FAKE_TRIVY_VERSION
    }
  })

  it('retries a failing server, and does not retry a missing release', async () => {
    const root = lab.mkdir('releases-flaky')
    publish(root, '0.72.0')
    const server = await startServer('release-flaky', root, 2)
    const installed = await installTrivy({
      version: '0.72.0',
      toolCacheDir: lab.mkdir('tc-flaky'),
      tempDir: lab.mkdir('tmp-f'),
      baseUrl: server.url,
      platform: 'linux',
      arch: 'x64',
      retryDelaysMs: [10, 10]
    })
    expect(installed.fromCache).toBe(false)
    const missing = installTrivy({
      version: '0.71.9',
      toolCacheDir: lab.mkdir('tc-missing'),
      tempDir: lab.mkdir('tmp-m'),
      baseUrl: server.url,
      platform: 'linux',
      arch: 'x64',
      retryDelaysMs: [10, 10]
    })
    await expect(missing).rejects.toThrow(/answered HTTP 404/)
    expect((await server.log()).filter((p) => p.includes('0.71.9'))).toHaveLength(2) // 302 + 404, once
  })

  it.each([
    ['latest', /expected an exact release/],
    ['~0.72', /expected an exact release/],
    ['0.72', /expected an exact release/]
  ])('refuses trivy-version %s', (raw, message) => {
    expect(() => parseTrivyVersion('trivy-version', raw)).toThrow(message)
  })
})
