import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, dirname, isAbsolute, join } from 'node:path'
import { parse } from 'yaml'
import { ConfigurationError, ToolError } from '../core/errors.js'
import { runCommand } from '../core/exec.js'
import { log } from '../core/log.js'

/** Everything needed to reach one API server as one user. */
export interface KubeCredentials {
  server: URL
  /** PEM; undefined means the system's trust store. */
  ca?: string
  insecureSkipTlsVerify: boolean
  tlsServerName?: string
  cert?: string
  key?: string
  token?: string
  /** One line for logs: which file and context, or in-cluster. */
  source: string
}

export interface KubeconfigChoice {
  /** Path given by the user (input `kubeconfig`); else $KUBECONFIG, ~/.kube/config, in-cluster. */
  path?: string
  context?: string
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

type Named<T> = { name: string } & T
interface KubeconfigFile {
  'current-context'?: string
  clusters?: Named<{ cluster?: Record<string, unknown> }>[]
  users?: Named<{ user?: Record<string, unknown> }>[]
  contexts?: Named<{ context?: { cluster?: string; user?: string; namespace?: string } }>[]
}

interface LoadedFile {
  path: string
  config: KubeconfigFile
}

function readYamlFile(path: string): LoadedFile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigurationError(
      `kubeconfig \`${path}\` cannot be read: ${(error as Error).message}`,
      'kubeconfig'
    )
  }
  try {
    const config = (parse(text) ?? {}) as KubeconfigFile
    return { path, config }
  } catch (error) {
    throw new ConfigurationError(
      `kubeconfig \`${path}\` is not valid YAML: ${(error as Error).message}`,
      'kubeconfig'
    )
  }
}

/** The files to read, in kubectl's order: the input, else $KUBECONFIG (a list), else ~/.kube/config. */
function kubeconfigPaths(choice: KubeconfigChoice): string[] {
  if (choice.path) return [choice.path]
  const env = process.env.KUBECONFIG
  if (env) return env.split(delimiter).filter((p) => p !== '' && existsSync(p))
  const home = join(homedir(), '.kube', 'config')
  return existsSync(home) ? [home] : []
}

/** Inline `*-data` (base64) wins over a file path, as in kubectl; relative paths are per file. */
function pemFrom(entry: Record<string, unknown>, field: string, base: string): string | undefined {
  const data = entry[`${field}-data`]
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8')
  const file = entry[field]
  if (typeof file === 'string' && file !== '') {
    const path = isAbsolute(file) ? file : join(base, file)
    try {
      return readFileSync(path, 'utf8')
    } catch (error) {
      throw new ConfigurationError(
        `kubeconfig: \`${field}\` file \`${path}\` cannot be read: ${(error as Error).message}`,
        'kubeconfig'
      )
    }
  }
  return undefined
}

/** First definition wins across merged files, as kubectl does. */
function findNamed<T>(
  files: LoadedFile[],
  list: 'clusters' | 'users' | 'contexts',
  name: string
): { item: T; base: string } | undefined {
  for (const f of files) {
    const hit = (f.config[list] as Named<Record<string, unknown>>[] | undefined)?.find(
      (e) => e.name === name
    )
    if (hit) return { item: hit as T, base: dirname(f.path) }
  }
  return undefined
}

/** Runs a client-go exec credential plugin (EKS `aws eks get-token`, GKE's auth plugin, ...). */
async function execCredential(
  exec: Record<string, unknown>,
  server: URL
): Promise<{ token?: string; cert?: string; key?: string }> {
  const command = exec.command
  if (typeof command !== 'string' || command === '') {
    throw new ConfigurationError('kubeconfig: user `exec` has no `command`', 'kubeconfig')
  }
  const args = Array.isArray(exec.args) ? exec.args.map(String) : []
  const env: Record<string, string> = {}
  for (const e of Array.isArray(exec.env) ? (exec.env as { name: string; value: string }[]) : [])
    env[e.name] = e.value
  const apiVersion =
    typeof exec.apiVersion === 'string' ? exec.apiVersion : 'client.authentication.k8s.io/v1'
  env.KUBERNETES_EXEC_INFO = JSON.stringify({
    apiVersion,
    kind: 'ExecCredential',
    spec: { interactive: false, cluster: { server: server.toString() } }
  })
  const result = await runCommand([command, ...args], { env, timeoutMs: 60_000 })
  if (result.code !== 0) {
    throw new ToolError(
      `kubeconfig exec plugin \`${command}\` exited ${result.code}: ${result.stderr.trim().slice(-500)}`
    )
  }
  let status: { token?: string; clientCertificateData?: string; clientKeyData?: string } | undefined
  try {
    status = (JSON.parse(result.stdout) as { status?: typeof status }).status
  } catch {
    throw new ToolError(
      `kubeconfig exec plugin \`${command}\` did not print an ExecCredential JSON object`
    )
  }
  if (!status?.token && !status?.clientCertificateData) {
    throw new ToolError(
      `kubeconfig exec plugin \`${command}\` returned neither a token nor a client certificate`
    )
  }
  return { token: status.token, cert: status.clientCertificateData, key: status.clientKeyData }
}

/** The pod's service account, when running inside a cluster (a self-hosted runner in a pod). */
function inClusterCredentials(): KubeCredentials | undefined {
  const host = process.env.KUBERNETES_SERVICE_HOST
  const port = process.env.KUBERNETES_SERVICE_PORT
  const tokenPath = join(SERVICE_ACCOUNT_DIR, 'token')
  if (!host || !port || !existsSync(tokenPath)) return undefined
  const hostPart = host.includes(':') ? `[${host}]` : host
  return {
    server: new URL(`https://${hostPart}:${port}`),
    ca: readFileSync(join(SERVICE_ACCOUNT_DIR, 'ca.crt'), 'utf8'),
    insecureSkipTlsVerify: false,
    token: readFileSync(tokenPath, 'utf8').trim(),
    source: 'in-cluster service account'
  }
}

/**
 * Resolves where and as whom to connect, as kubectl would: the kubeconfig input, $KUBECONFIG,
 * ~/.kube/config, then the in-cluster service account. Reads files (and may run an exec
 * plugin) but does not contact the API server.
 */
export async function loadCredentials(choice: KubeconfigChoice): Promise<KubeCredentials> {
  const paths = kubeconfigPaths(choice)
  if (paths.length === 0) {
    const inCluster = choice.context ? undefined : inClusterCredentials()
    if (inCluster) {
      log.secret(inCluster.token)
      return inCluster
    }
    throw new ConfigurationError(
      'no kubeconfig found: set input `kubeconfig` (a path), or $KUBECONFIG, or write ~/.kube/config ' +
        '(e.g. with azure/k8s-set-context or `aws eks update-kubeconfig`), or run inside a cluster',
      'kubeconfig'
    )
  }
  const files = paths.map(readYamlFile)
  const contextName =
    choice.context ?? files.find((f) => f.config['current-context'])?.config['current-context']
  const where = paths.join(delimiter)
  if (!contextName) {
    throw new ConfigurationError(
      `kubeconfig \`${where}\` has no current-context; set input \`context\``,
      'context'
    )
  }
  const context = findNamed<{ context?: { cluster?: string; user?: string } }>(
    files,
    'contexts',
    contextName
  )
  if (!context) {
    const known = files.flatMap((f) => (f.config.contexts ?? []).map((c) => c.name))
    throw new ConfigurationError(
      `input \`context\` = \`${contextName}\`: no such context in \`${where}\` (contexts there: ${known.join(', ') || 'none'})`,
      'context'
    )
  }
  const clusterName = context.item.context?.cluster ?? ''
  const cluster = findNamed<{ cluster?: Record<string, unknown> }>(files, 'clusters', clusterName)
  if (!cluster?.item.cluster || typeof cluster.item.cluster.server !== 'string') {
    throw new ConfigurationError(
      `kubeconfig context \`${contextName}\` names cluster \`${clusterName}\`, which is missing or has no server`,
      'kubeconfig'
    )
  }
  const c = cluster.item.cluster
  const server = new URL(c.server as string)
  const userEntry = findNamed<{ user?: Record<string, unknown> }>(
    files,
    'users',
    context.item.context?.user ?? ''
  )
  const u = userEntry?.item.user ?? {}
  const base = userEntry?.base ?? cluster.base
  const credentials: KubeCredentials = {
    server,
    ca: pemFrom(c, 'certificate-authority', cluster.base),
    insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: typeof c['tls-server-name'] === 'string' ? c['tls-server-name'] : undefined,
    cert: pemFrom(u, 'client-certificate', base),
    key: pemFrom(u, 'client-key', base),
    token: typeof u.token === 'string' ? u.token : undefined,
    source: `kubeconfig ${where} context ${contextName}`
  }
  if (!credentials.token && typeof u.tokenFile === 'string') {
    credentials.token = readFileSync(
      isAbsolute(u.tokenFile) ? u.tokenFile : join(base, u.tokenFile),
      'utf8'
    ).trim()
  }
  if (u['auth-provider']) {
    throw new ConfigurationError(
      `kubeconfig user for context \`${contextName}\` uses a legacy auth-provider, which is not supported; use an exec plugin or a token`,
      'kubeconfig'
    )
  }
  if (u.exec && typeof u.exec === 'object') {
    Object.assign(credentials, await execCredential(u.exec as Record<string, unknown>, server))
  }
  if (credentials.insecureSkipTlsVerify) {
    log.warning(
      `${credentials.source}: insecure-skip-tls-verify is set; the API server's certificate is not checked`
    )
  }
  log.secret(credentials.token)
  log.secret(credentials.key)
  return credentials
}
