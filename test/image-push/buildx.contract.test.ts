import { afterAll, describe, expect, it } from '@jest/globals'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction } from '../../lab/runner.js'

// docker buildx cannot run here: a fake `docker` first on PATH records each command line (and
// what came on stdin) and, for `buildx build`, writes the metadata file buildx would write.
const dir = mkdtempSync(join(tmpdir(), 'fake-docker-'))
const calls = join(dir, 'calls.jsonl')
const digest = `sha256:${'ab'.repeat(32)}`
writeFileSync(
  join(dir, 'docker'),
  `#!${process.execPath}
const fs = require('node:fs')
const argv = process.argv.slice(2)
const stdin = argv.includes('--password-stdin') ? fs.readFileSync(0, 'utf8') : ''
fs.appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ argv, stdin }) + '\\n')
const secret = argv.find((a) => a.startsWith('id=') && a.includes(',src='))
if (argv[0] === 'login' && process.env.FAKE_DOCKER_LOGIN_FAILS) { console.error('login interrupted'); process.exit(1) }
if (secret) fs.appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ secretFile: fs.readFileSync(secret.split(',src=')[1], 'utf8'), mode: (fs.statSync(secret.split(',src=')[1]).mode & 0o777).toString(8) }) + '\\n')
const i = argv.indexOf('--metadata-file')
if (i >= 0) fs.writeFileSync(argv[i + 1], JSON.stringify({ 'containerimage.digest': ${JSON.stringify(digest)} }))
`
)
chmodSync(join(dir, 'docker'), 0o755)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const env = {
  PATH: `${dir}:${process.env.PATH}`,
  GITHUB_REF: 'refs/tags/v1.4.2',
  GITHUB_SHA: 'fedcba9876543210fedcba9876543210fedcba98'
}

describe('image-push build mode (contract with docker buildx)', () => {
  it('logs in through stdin, runs buildx with tags and labels, and outputs the digest', async () => {
    writeFileSync(calls, '')
    const result = await runAction(
      'image-push',
      {
        image: 'ghcr.io/example-org/service',
        latest: 'true',
        username: 'bot',
        password: 's3cret-registry-token',
        platforms: 'linux/amd64, linux/arm64',
        'build-args': 'NODE_VERSION=20\nGIT_SHA=abc',
        file: 'deploy/Dockerfile',
        labels: 'org.opencontainers.image.vendor=Example'
      },
      { env }
    )
    expect(result.exitCode).toBe(0)
    const [login, build, logout] = readFileSync(calls, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argv: string[]; stdin: string })
    expect(login).toEqual({
      argv: ['login', 'ghcr.io', '--username', 'bot', '--password-stdin'],
      stdin: 's3cret-registry-token'
    })
    const created = build.argv[build.argv.indexOf('--label') + 9]
    expect(build.argv).toEqual([
      'buildx',
      'build',
      '--file',
      'deploy/Dockerfile',
      '--platform',
      'linux/amd64,linux/arm64',
      '--build-arg',
      'NODE_VERSION=20',
      '--build-arg',
      'GIT_SHA=abc',
      '--label',
      'org.opencontainers.image.title=example-service',
      '--label',
      'org.opencontainers.image.url=https://github.com/example-org/example-service',
      '--label',
      'org.opencontainers.image.source=https://github.com/example-org/example-service',
      '--label',
      'org.opencontainers.image.revision=fedcba9876543210fedcba9876543210fedcba98',
      '--label',
      created,
      '--label',
      'org.opencontainers.image.version=1.4.2',
      '--label',
      'org.opencontainers.image.vendor=Example',
      '--tag',
      'ghcr.io/example-org/service:1.4.2',
      '--tag',
      'ghcr.io/example-org/service:1.4',
      '--tag',
      'ghcr.io/example-org/service:1',
      '--tag',
      'ghcr.io/example-org/service:latest',
      '--tag',
      'ghcr.io/example-org/service:sha-fedcba9',
      '--metadata-file',
      expect.stringMatching(/metadata\.json$/),
      '--push',
      '.'
    ])
    // The post step: no registry credential stays in the runner's Docker config.
    expect(logout).toEqual({ argv: ['logout', 'ghcr.io'], stdin: '' })
    expect(result.post?.exitCode).toBe(0)
    expect(created).toMatch(/^org\.opencontainers\.image\.created=\d{4}-\d\d-\d\dT/)
    expect(result.outputs).toEqual({
      digest,
      image: `ghcr.io/example-org/service@${digest}`,
      tags: ['1.4.2', '1.4', '1', 'latest', 'sha-fedcba9']
        .map((t) => `ghcr.io/example-org/service:${t}`)
        .join('\n')
    })
    expect(result.masks).toContain('s3cret-registry-token')
    const printed = result.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'))
    expect(printed.join('\n') + result.summary).not.toContain('s3cret-registry-token')
  })

  it('a login that fails half-way is still logged out of in the post step', async () => {
    writeFileSync(calls, '')
    const result = await runAction(
      'image-push',
      { image: 'ghcr.io/example-org/service', username: 'bot', password: 's3cret-registry-token' },
      { env: { ...env, FAKE_DOCKER_LOGIN_FAILS: '1' } }
    )
    expect(result.exitCode).not.toBe(0)
    const argvs = readFileSync(calls, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { argv: string[] }).argv)
    expect(argvs.map((a) => a[0])).toEqual(['login', 'logout'])
    expect(argvs[1]).toEqual(['logout', 'ghcr.io'])
  })

  it('without credentials there is nothing to log out of', async () => {
    writeFileSync(calls, '')
    const result = await runAction('image-push', { image: 'ghcr.io/example-org/service' }, { env })
    expect(result.exitCode).toBe(0)
    const argvs = readFileSync(calls, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { argv: string[] }).argv[0])
    expect(argvs).toEqual(['buildx'])
  })

  it('passes build-push-action inputs to buildx: cache, attestations, target, annotations, secrets as files', async () => {
    writeFileSync(calls, '')
    const result = await runAction(
      'image-push',
      {
        image: 'ghcr.io/example-org/service',
        tags: 'sha',
        'cache-from': 'type=gha\ntype=registry,ref=ghcr.io/example-org/service:cache',
        'cache-to': 'type=gha,mode=max',
        provenance: 'mode=max',
        sbom: 'true',
        target: 'runtime',
        annotations: 'index:org.opencontainers.image.description=Shop API',
        secrets: 'npm_token=s3cret-npm-value'
      },
      { env }
    )
    expect(result.exitCode).toBe(0)
    const [build, secretSeen] = readFileSync(calls, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argv: string[]; secretFile?: string; mode?: string })
    const argv = build.argv
    const pairs = (flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []))
    expect(pairs('--target')).toEqual(['runtime'])
    expect(pairs('--cache-from')).toEqual([
      'type=gha',
      'type=registry,ref=ghcr.io/example-org/service:cache'
    ])
    expect(pairs('--cache-to')).toEqual(['type=gha,mode=max'])
    expect(argv).toContain('--provenance=mode=max')
    expect(argv).toContain('--sbom=true')
    expect(pairs('--annotation')).toEqual(['index:org.opencontainers.image.description=Shop API'])
    expect(pairs('--secret')).toEqual([expect.stringMatching(/^id=npm_token,src=\/.+/)])
    // The value reached buildx through a private file, never its command line or the log.
    expect(secretSeen).toEqual({ secretFile: 's3cret-npm-value', mode: '600' })
    expect(argv.join(' ')).not.toContain('s3cret-npm-value')
    expect(result.masks).toContain('s3cret-npm-value')
  })

  it.each([
    [{ provenance: 'yes please' }, 'input `provenance` = `yes please`'],
    [{ 'cache-from': 'gha' }, 'input `cache-from` = `gha`: expected buildx cache options'],
    [{ target: '--push' }, 'input `target` = `--push`'],
    [{ secrets: '=nothing' }, 'input `secrets`: each line is id=value'],
    [{ annotations: 'everything:a=b' }, 'input `annotations` = `everything:a=b`'],
    [
      { mode: 'promote', source: 'ghcr.io/o/a:1', 'cache-from': 'type=gha' },
      'input `cache-from` is only for `mode: build`'
    ]
  ])('rejects %j before running docker', async (inputs, message) => {
    writeFileSync(calls, '')
    const result = await runAction(
      'image-push',
      { image: 'ghcr.io/example-org/service', ...inputs },
      { env }
    )
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toContain(message)
    expect(readFileSync(calls, 'utf8')).toBe('')
  })

  it('a buildx failure is "could not run" (exit 3) with its message', async () => {
    writeFileSync(
      join(dir, 'docker'),
      `#!${process.execPath}\nconsole.error('ERROR: failed to solve: dockerfile parse error')\nprocess.exit(1)\n`
    )
    const result = await runAction('image-push', { image: 'ghcr.io/example-org/service' }, { env })
    expect(result.exitCode).toBe(3)
    expect(result.stdout).toContain('dockerfile parse error')
  })
})
