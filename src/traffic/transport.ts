import { spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCommand, type CommandResult } from '../core/exec.js'
import { ConfigurationError, ToolError } from '../core/errors.js'
import { splitHostPort } from '../core/inputs.js'
import { log } from '../core/log.js'

/**
 * Where router commands run: on this machine (a self-hosted runner on the load balancer) or on
 * a remote host over SSH. The same argument lists run either way.
 */
export interface Transport {
  readonly name: string
  run(argv: string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>
  close(): Promise<void>
}

export class LocalTransport implements Transport {
  readonly name = 'local'
  run(
    argv: string[],
    options: { input?: string; timeoutMs?: number } = {}
  ): Promise<CommandResult> {
    return runCommand(argv, { ...options, echo: false, timeoutMs: options.timeoutMs ?? 60_000 })
  }
  async close(): Promise<void> {}
}

/** POSIX single-quoting: the remote shell sees each argument as one literal word. */
export function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

export interface SshOptions {
  host: string
  port: number
  user: string
  /** Private key text (a secret). */
  key: string
  /** known_hosts lines; host key checking is never disabled. */
  knownHosts: string
  /** Where the key, known_hosts and control socket are written (the run's temp dir). */
  tempDir: string
}

export class SshTransport implements Transport {
  readonly name: string
  private readonly dir: string
  private readonly base: string[]

  constructor(options: SshOptions) {
    this.name = `ssh ${options.user}@${options.host}:${options.port}`
    log.secret(options.key)
    this.dir = mkdtempSync(join(options.tempDir, 'ops-ssh-'))
    const keyFile = join(this.dir, 'key')
    const knownHosts = join(this.dir, 'known_hosts')
    writeFileSync(keyFile, options.key.endsWith('\n') ? options.key : `${options.key}\n`, {
      mode: 0o600
    })
    writeFileSync(knownHosts, `${options.knownHosts.trim()}\n`, { mode: 0o600 })
    this.base = [
      'ssh',
      '-i',
      keyFile,
      '-p',
      String(options.port),
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'ConnectTimeout=10',
      '-o',
      'ServerAliveInterval=5',
      '-o',
      'ServerAliveCountMax=3',
      // One connection for all the commands of a run (see startMaster): a switch costs one
      // handshake, not ten. Without a master, each command connects on its own.
      '-o',
      'ControlMaster=no',
      '-o',
      `ControlPath=${join(this.dir, 'cm')}`,
      '-l',
      options.user,
      options.host,
      '--'
    ]
  }

  private masterTried = false

  /**
   * Starts a background master connection (ssh -M -N -f). Its output goes to a file: a forked
   * master that held our pipes would keep every later command "running" until it exited.
   */
  private startMaster(): void {
    this.masterTried = true
    const err = openSync(join(this.dir, 'master.log'), 'a')
    const opts = this.base
      .slice(0, -2)
      .map((a) => (a === 'ControlMaster=no' ? 'ControlMaster=yes' : a))
    spawnSync(
      opts[0],
      [...opts.slice(1), '-N', '-f', '-o', 'ControlPersist=300', this.base[this.base.length - 2]],
      {
        stdio: ['ignore', 'ignore', err],
        timeout: 15_000
      }
    )
    closeSync(err)
  }

  async run(
    argv: string[],
    options: { input?: string; timeoutMs?: number } = {}
  ): Promise<CommandResult> {
    if (!this.masterTried) this.startMaster()
    // ssh hands the remote shell one string: quote every argument so none is interpreted.
    const remote = argv.map(shellQuote).join(' ')
    const result = await runCommand([...this.base, remote], {
      ...options,
      echo: false,
      timeoutMs: options.timeoutMs ?? 60_000
    })
    if (result.code === 255) {
      throw new ToolError(
        `${this.name}: SSH connection failed: ${result.stderr.trim().split('\n').pop()}`
      )
    }
    return result
  }

  async close(): Promise<void> {
    const control = this.base.slice(0, -2)
    await runCommand([...control, '-O', 'exit', this.base[this.base.length - 2]], {
      echo: false,
      timeoutMs: 5000
    }).catch(() => undefined)
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** `host`, `host:port` or `[v6]:port`; port defaults to 22. */
export function parseSshHost(name: string, raw: string): { host: string; port: number } {
  const parsed = splitHostPort(raw, 22)
  if (!parsed) {
    throw new ConfigurationError(
      `input \`${name}\` = \`${raw}\`: expected host or host:port, such as lb1.internal:22`,
      name
    )
  }
  return parsed
}

/**
 * Writes a file on the transport's host atomically: temp file in the same folder, then rename.
 * `keepOwnerAndMode`: the new file gets the old one's owner, group and mode (a rename would
 * otherwise leave the runner's user and umask on a file nginx or an operator relies on).
 */
export async function writeFileAtomic(
  t: Transport,
  path: string,
  content: string,
  options: { keepOwnerAndMode?: boolean } = {}
): Promise<void> {
  const tmp = `${path}.ops-actions.tmp`
  const write = await t.run(['tee', tmp], { input: content })
  if (write.code !== 0)
    throw new ToolError(`${t.name}: cannot write ${tmp}: ${write.stderr.trim()}`)
  if (options.keepOwnerAndMode && (await t.run(['test', '-e', path])).code === 0) {
    for (const tool of ['chown', 'chmod']) {
      const r = await t.run([tool, `--reference=${path}`, tmp])
      if (r.code !== 0) {
        log.warning(
          `${t.name}: ${tool} --reference=${path} failed (${r.stderr.trim()}); the new file keeps the runner's`
        )
      }
    }
  }
  const move = await t.run(['mv', '-f', tmp, path])
  if (move.code !== 0)
    throw new ToolError(`${t.name}: cannot rename ${tmp} to ${path}: ${move.stderr.trim()}`)
}

export async function readFile(t: Transport, path: string): Promise<string | undefined> {
  const result = await t.run(['cat', path])
  if (result.code !== 0) {
    if (/No such file/.test(result.stderr)) return undefined
    throw new ToolError(`${t.name}: cannot read ${path}: ${result.stderr.trim()}`)
  }
  return result.stdout
}
