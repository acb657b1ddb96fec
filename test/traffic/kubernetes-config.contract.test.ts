/**
 * Inputs of the kubernetes router (validated before anything is contacted) and how a kubeconfig
 * becomes a connection: token, token file, client certificate over TLS with the cluster CA,
 * exec plugin, contexts. The TLS server here is a stand-in for an API server's TLS front.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigurationError } from '../../src/core/errors.js'
import { Inputs } from '../../src/core/inputs.js'
import { setLogSink } from '../../src/core/log.js'
import { KubeClient } from '../../src/kube/client.js'
import { loadCredentials } from '../../src/kube/kubeconfig.js'
import { readKubernetesConfig } from '../../src/actions/release-inputs/kubernetes.js'
import { writeKubeconfig } from '../fakes/kube-api.js'

const quiet = {
  info: () => undefined,
  debug: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  notice: () => undefined,
  startGroup: () => undefined,
  endGroup: () => undefined,
  setSecret: () => undefined
}

function read(values: Record<string, string>) {
  return readKubernetesConfig(new Inputs((name) => values[name] ?? ''))
}

describe('readKubernetesConfig', () => {
  it('fills the defaults', () => {
    expect(read({ app: 'shop' })).toEqual({
      namespace: 'default',
      app: 'shop',
      service: 'shop',
      slotLabel: 'slot',
      image: undefined,
      container: undefined,
      rolloutTimeoutMs: 300_000,
      kubeconfig: undefined,
      context: undefined,
      httproute: undefined,
      canaryIngress: undefined
    })
  })

  it('accepts every input in its documented form', () => {
    const c = read({
      app: 'shop',
      namespace: 'shop-prod',
      service: 'shop-live',
      'slot-label': 'example.com/color',
      image: 'ghcr.io/acme/shop:1.4.2@sha256:' + 'a'.repeat(64),
      container: 'web',
      'rollout-timeout': '90s',
      kubeconfig: '/home/runner/.kube/config',
      context: 'kind-e2e',
      'canary-ingress': 'shop-canary.v1'
    })
    expect(c).toMatchObject({
      service: 'shop-live',
      slotLabel: 'example.com/color',
      rolloutTimeoutMs: 90_000,
      canaryIngress: 'shop-canary.v1'
    })
    expect(read({ app: 'shop', image: 'localhost:5000/shop:dev' }).image).toBe(
      'localhost:5000/shop:dev'
    )
  })

  it.each([
    [{}, 'app', /input `app` is required when router is `kubernetes`/],
    [{ app: 'Shop' }, 'app', /input `app` = `Shop`: expected a Service name \(DNS-1035 label\)/],
    [{ app: '9shop' }, 'app', /starting with a letter/],
    [{ app: 'a'.repeat(58) }, 'app', /at most 57 characters/],
    [
      { app: 'shop', namespace: 'Prod_1' },
      'namespace',
      /input `namespace` = `Prod_1`: expected a DNS-1123 label/
    ],
    [{ app: 'shop', service: 'shop.live' }, 'service', /input `service` = `shop.live`/],
    [{ app: 'shop', 'slot-label': 'a/b/c' }, 'slot-label', /expected a label key such as `slot`/],
    [{ app: 'shop', 'slot-label': '-slot' }, 'slot-label', /label key/],
    [
      { app: 'shop', image: 'Shop:latest' },
      'image',
      /input `image` = `Shop:latest`: expected an image reference/
    ],
    [{ app: 'shop', image: 'shop:1 ; rm -rf /' }, 'image', /expected an image reference/],
    [{ app: 'shop', 'rollout-timeout': 'soon' }, 'rollout-timeout', /expected a duration/],
    [{ app: 'shop', 'rollout-timeout': '0' }, 'rollout-timeout', /above zero/],
    [{ app: 'shop', httproute: 'Shop_Route' }, 'httproute', /DNS-1123 subdomain/],
    [
      { app: 'shop', httproute: 'shop', 'canary-ingress': 'shop-canary' },
      'canary-ingress',
      /both set: give one/
    ],
    [
      { app: 'shop', httproute: 'shop', service: 'shop' },
      'service',
      /does not apply with `httproute`/
    ],
    [{ app: 'shop', container: 'Web' }, 'container', /input `container` = `Web`/],
    [{ app: 'shop', context: 'a\nb' }, 'context', /expected one line/]
  ])('rejects %j naming input %s', (values, input, message) => {
    let error: unknown
    try {
      read(values as Record<string, string>)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).input).toBe(input)
    expect((error as Error).message).toMatch(message)
  })
})

describe('loadCredentials', () => {
  let dir: string
  const savedEnv = { ...process.env }
  beforeAll(() => {
    setLogSink(quiet)
    dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'))
  })
  afterAll(() => {
    process.env = savedEnv
    rmSync(dir, { recursive: true, force: true })
  })

  it('uses the current context, or the one asked for, and says which exist when it is missing', async () => {
    const path = writeKubeconfig('https://10.0.0.1:6443', 'tok-123')
    const c = await loadCredentials({ path })
    expect(c).toMatchObject({ token: 'tok-123', source: `kubeconfig ${path} context fake` })
    expect(c.server.href).toBe('https://10.0.0.1:6443/')
    await expect(loadCredentials({ path, context: 'prod' })).rejects.toThrow(
      /input `context` = `prod`: no such context .*contexts there: fake/
    )
  })

  it('falls back to $KUBECONFIG, reads a relative tokenFile next to the kubeconfig', async () => {
    writeFileSync(join(dir, 'token'), 'from-file-456\n')
    const path = writeKubeconfig('https://10.0.0.1:6443', '', { user: { tokenFile: 'token' } })
    const config = JSON.parse(readFileSync(path, 'utf8'))
    writeFileSync(join(dir, 'config'), JSON.stringify(config))
    process.env.KUBECONFIG = join(dir, 'config')
    expect((await loadCredentials({})).token).toBe('from-file-456')
    delete process.env.KUBECONFIG
  })

  it('runs an exec credential plugin from an argument list and uses its token', async () => {
    const plugin = join(dir, 'get-token')
    writeFileSync(
      plugin,
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-'"$1"'"}}'\n`
    )
    chmodSync(plugin, 0o755)
    const path = writeKubeconfig('https://10.0.0.1:6443', '', {
      user: {
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, args: ['789'] }
      }
    })
    expect((await loadCredentials({ path })).token).toBe('exec-789')
  })

  it('fails as a configuration error when there is no kubeconfig and no in-cluster account', async () => {
    process.env.KUBECONFIG = join(dir, 'does-not-exist')
    delete process.env.KUBERNETES_SERVICE_HOST
    await expect(loadCredentials({})).rejects.toThrow(/no kubeconfig found: set input `kubeconfig`/)
    delete process.env.KUBECONFIG
    await expect(loadCredentials({ path: join(dir, 'missing') })).rejects.toBeInstanceOf(
      ConfigurationError
    )
  })
})

describe('TLS: cluster CA and client certificate from the kubeconfig', () => {
  let dir: string
  let server: Server
  let url: string
  const pem = (name: string): string => readFileSync(join(dir, name), 'utf8')
  const b64 = (name: string): string => Buffer.from(pem(name)).toString('base64')

  beforeAll(async () => {
    setLogSink(quiet)
    dir = mkdtempSync(join(tmpdir(), 'kube-tls-'))
    const ssl = (...args: string[]): void =>
      void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    ssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-subj',
      '/CN=test-ca',
      '-days',
      '1'
    )
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
    for (const who of ['server', 'client']) {
      ssl('req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`)
      const ext = who === 'server' ? ['-extfile', 'san.ext'] : []
      ssl(
        'x509',
        '-req',
        '-in',
        `${who}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${who}.crt`,
        '-days',
        '1',
        ...ext
      )
    }
    server = createServer(
      {
        key: pem('server.key'),
        cert: pem('server.crt'),
        ca: pem('ca.crt'),
        requestCert: true,
        rejectUnauthorized: true
      },
      (req, res) => {
        const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate()
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end(
          JSON.stringify({
            kind: 'Service',
            metadata: { name: 'shop', annotations: { client: peer.subject.CN } }
          })
        )
      }
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  })

  const ref = { kind: 'Service' as const, namespace: 'default', name: 'shop' }

  it('verifies the server against certificate-authority-data and presents the client certificate', async () => {
    const path = writeKubeconfig(url, '', {
      cluster: { 'certificate-authority-data': b64('ca.crt') },
      user: { 'client-certificate-data': b64('client.crt'), 'client-key-data': b64('client.key') }
    })
    const svc = await new KubeClient(await loadCredentials({ path })).get(ref)
    expect(svc.metadata.annotations).toEqual({ client: 'client' })
  })

  it('reads certificate files relative to the kubeconfig', async () => {
    const path = join(dir, 'config')
    writeFileSync(
      path,
      JSON.stringify({
        'current-context': 'c',
        clusters: [{ name: 'k', cluster: { server: url, 'certificate-authority': 'ca.crt' } }],
        users: [
          { name: 'u', user: { 'client-certificate': 'client.crt', 'client-key': 'client.key' } }
        ],
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }]
      })
    )
    expect((await new KubeClient(await loadCredentials({ path })).get(ref)).metadata.name).toBe(
      'shop'
    )
  })

  it('refuses a server whose certificate the cluster CA did not sign', async () => {
    const path = writeKubeconfig(url, '', {
      user: { 'client-certificate-data': b64('client.crt'), 'client-key-data': b64('client.key') }
    })
    await expect(new KubeClient(await loadCredentials({ path })).get(ref)).rejects.toThrow(
      /cannot reach the API server 127\.0\.0\.1:\d+: .*(self[- ]signed|unable to verify|local issuer)/i
    )
  })
})
