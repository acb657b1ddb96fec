import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { enginePath } from '../../lab/engines.js'

let dockerConfig: string | undefined

/**
 * Gives crane an account for a registry through its own Docker config file (DOCKER_CONFIG in a
 * lab directory), never the user's ~/.docker.
 */
export function craneLogin(dir: string, host: string, user: string, password: string): void {
  dockerConfig = join(dir, 'crane-docker-config')
  mkdirSync(dockerConfig, { recursive: true })
  const path = join(dockerConfig, 'config.json')
  let config: { auths: Record<string, { auth: string }> } = { auths: {} }
  try {
    config = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    // first account
  }
  config.auths[host] = { auth: Buffer.from(`${user}:${password}`).toString('base64') }
  writeFileSync(path, JSON.stringify(config))
}

/** Runs the real crane (go-containerregistry), built by scripts/engines/build.sh. */
export function crane(...args: string[]): string {
  return execFileSync(enginePath('crane'), [...args, '--insecure'], {
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DOCKER_CONFIG: dockerConfig ?? join(process.cwd(), '.no-docker-config') }
  }).trim()
}

/** A real filesystem layer (a tar of a few files), for `crane append`. */
export function layerTar(dir: string, name: string, files: Record<string, string>): string {
  const root = join(dir, `${name}-root`)
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), content)
  }
  const tar = join(dir, `${name}.tar`)
  execFileSync('tar', ['-cf', tar, '-C', root, '.'])
  return tar
}
