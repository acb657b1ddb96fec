import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { Lab } from '../lab.js'
import { freePort } from '../ports.js'
import type { ManagedProcess } from '../process.js'
import { createConnection } from 'node:net'

export interface SshdInstance {
  port: number
  user: string
  /** Private key text the client uses (what the ssh-key input receives). */
  clientKey: string
  /** known_hosts line for this server (what ssh-known-hosts receives). */
  knownHosts: string
  process: ManagedProcess
}

function bannerReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port })
    c.setTimeout(1000, () => {
      c.destroy()
      resolve(false)
    })
    c.once('data', (d) => {
      c.destroy()
      resolve(String(d).startsWith('SSH-'))
    })
    c.on('error', () => resolve(false))
  })
}

/** A real OpenSSH server on 127.0.0.1 that accepts one generated key for the current user. */
export async function startSshd(lab: Lab, name = 'sshd'): Promise<SshdInstance> {
  const dir = lab.mkdir(name)
  const port = await freePort()
  const user = execFileSync('id', ['-un']).toString().trim()
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/host_key`])
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/client_key`])
  writeFileSync(`${dir}/authorized_keys`, readFileSync(`${dir}/client_key.pub`), { mode: 0o600 })
  // sshd needs its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  writeFileSync(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'X11Forwarding no',
      'AllowTcpForwarding no',
      'MaxStartups 50:30:100',
      'MaxSessions 50',
      ''
    ].join('\n')
  )
  const sshd = lab.spawn(name, ['/usr/sbin/sshd', '-D', '-e', '-f', `${dir}/sshd_config`])
  await sshd.waitReady(() => bannerReady(port), 10_000)
  const hostKey = readFileSync(`${dir}/host_key.pub`, 'utf8')
    .trim()
    .split(' ')
    .slice(0, 2)
    .join(' ')
  return {
    port,
    user,
    clientKey: readFileSync(`${dir}/client_key`, 'utf8'),
    knownHosts: `[127.0.0.1]:${port} ${hostKey}`,
    process: sshd
  }
}
