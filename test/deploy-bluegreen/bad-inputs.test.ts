import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync } from 'node:fs'
import { Lab } from '../../lab/lab.js'
import type { HaproxyInstance } from '../../lab/services/haproxy.js'
import { run } from '../../src/actions/deploy-bluegreen/main.js'
import { Inputs } from '../../src/core/inputs.js'
import { runContextFromEnv } from '../../src/core/run-context.js'
import { ConfigurationError, ToolError } from '../../src/core/errors.js'
import type { ActionIO } from '../../src/core/action.js'
import { haproxyInputs, haproxyLab, type Slots } from './helpers.js'

function io(values: Record<string, string>): ActionIO & { outputs: Record<string, string> } {
  const outputs: Record<string, string> = {}
  return {
    inputs: new Inputs((n) => values[n] ?? ''),
    context: runContextFromEnv({}),
    setOutput: (n, v) => (outputs[n] = String(v)),
    writeSummary: async () => undefined,
    saveState: () => undefined,
    getState: () => '',
    outputs
  }
}

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n'

describe('deploy-bluegreen rejects bad input before touching anything', () => {
  const lab = Lab.create()
  let app: Slots
  let lb: HaproxyInstance
  beforeAll(async () => ({ app, haproxy: lb } = await haproxyLab(lab)))
  afterAll(() => lab.stop())

  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'router',
      { router: 'envoy' },
      /input `router` = `envoy`: expected one of `haproxy`, `nginx`, `kubernetes`/
    ],
    [
      'mode',
      { mode: 'switch' },
      /input `mode` = `switch`: expected one of `deploy`, `rollback`, `status`/
    ],
    [
      'target-slot',
      { 'target-slot': 'purple' },
      /input `target-slot` = `purple`: expected one of `blue`, `green`/
    ],
    [
      'haproxy-socket',
      { 'haproxy-socket': '' },
      /input `haproxy-socket` is required when router is `haproxy`/
    ],
    [
      'haproxy-socket',
      { 'haproxy-socket': 'lb1:99999' },
      /input `haproxy-socket` = `lb1:99999`: expected host:port/
    ],
    [
      'blue-server',
      { 'blue-server': 'blue;rm' },
      /input `blue-server` = `blue;rm`: expected an HAProxy server name/
    ],
    [
      'green-server',
      { 'blue-server': 'x', 'green-server': 'x' },
      /`blue-server` and `green-server` are both `x`/
    ],
    [
      'haproxy-state-file',
      { 'haproxy-state-file': 'state' },
      /input `haproxy-state-file` = `state`: expected an absolute path/
    ],
    [
      'health-url-green',
      { 'health-url-green': '' },
      /input `health-url-green` is required for mode `deploy`/
    ],
    [
      'health-url-blue',
      { 'health-url-blue': 'ftp://x/healthz' },
      /input `health-url-blue` = `ftp:\/\/x\/healthz`: expected a URL with scheme http: or https:/
    ],
    [
      'health-checks',
      { 'health-checks': '0' },
      /input `health-checks` = `0`: expected a whole number from 1 to 100/
    ],
    [
      'health-interval',
      { 'health-interval': '2' },
      /input `health-interval` = `2`: expected a duration/
    ],
    [
      'health-timeout',
      { 'health-timeout': 'soon' },
      /input `health-timeout` = `soon`: expected a duration/
    ],
    [
      'verify-url',
      { 'verify-url': 'localhost' },
      /input `verify-url` = `localhost`: expected an absolute URL/
    ],
    [
      'verify-max-error-rate',
      { 'verify-url': 'http://127.0.0.1:1/', 'verify-max-error-rate': '150%' },
      /input `verify-max-error-rate` = `150%`: expected a percentage from 0 to 100/
    ],
    [
      'verify-max-p95',
      { 'verify-url': 'http://127.0.0.1:1/', 'verify-max-p95': 'fast' },
      /input `verify-max-p95` = `fast`: expected a duration/
    ],
    [
      'verify-rate',
      { 'verify-url': 'http://127.0.0.1:1/', 'verify-rate': '100000' },
      /input `verify-rate` = `100000`: expected a whole number from 1 to 1000/
    ],
    [
      'health-timeout',
      { 'health-timeout': '0s' },
      /input `health-timeout` = `0s`: must be more than 0/
    ],
    [
      'health-timeout',
      { 'health-checks': '5', 'health-interval': '1s', 'health-timeout': '2s' },
      /input `health-timeout` = `2s`: shorter than health-checks x health-interval/
    ],
    [
      'verify-request-timeout',
      { 'verify-url': 'http://127.0.0.1:1/', 'verify-request-timeout': '0' },
      /input `verify-request-timeout` = `0`: must be more than 0/
    ],
    [
      'error-judgement',
      { 'verify-url': 'http://127.0.0.1:1/', 'error-judgement': 'loose' },
      /input `error-judgement` = `loose`: expected one of/
    ],
    [
      'verify-max-duration',
      {
        'verify-url': 'http://127.0.0.1:1/',
        'verify-duration': '30s',
        'verify-max-duration': '10s'
      },
      /input `verify-max-duration` = `10s`: expected at least verify-duration \(30s\)/
    ],
    [
      'verify-max-duration',
      { 'verify-url': 'http://127.0.0.1:1/', 'verify-max-duration': 'forever' },
      /input `verify-max-duration` = `forever`: expected a duration/
    ],
    [
      'verify-slot-header',
      { 'verify-url': 'http://127.0.0.1:1/', 'verify-slot-header': 'x slot' },
      /input `verify-slot-header` = `x slot`: expected an HTTP header name/
    ],
    [
      'haproxy-backend',
      { 'haproxy-backend': 'nope' },
      /input `haproxy-backend` = `nope`: HAProxy has no backend of that name/
    ],
    ['dry-run', { 'dry-run': 'yes' }, /input `dry-run` = `yes`: expected `true` or `false`/],
    [
      'auto-rollback',
      { 'auto-rollback': 'on' },
      /input `auto-rollback` = `on`: expected `true` or `false`/
    ],
    [
      'deploy-command',
      { 'deploy-command': '["./deploy.sh", 3]' },
      /input `deploy-command` = .*expected a non-empty JSON array of strings/
    ],
    [
      'lock-timeout',
      { 'lock-timeout': '-1s' },
      /input `lock-timeout` = `-1s`: expected a duration/
    ],
    ['ssh-user', { 'ssh-host': 'lb1' }, /input `ssh-user` is required when ssh-host is set/],
    [
      'ssh-key',
      { 'ssh-host': 'lb1', 'ssh-user': 'deploy', 'ssh-key': 'hunter2', 'ssh-known-hosts': 'x' },
      /input `ssh-key` \(value hidden\): expected a private key/
    ],
    [
      'ssh-host',
      { 'ssh-host': 'lb1:0', 'ssh-user': 'deploy', 'ssh-key': KEY, 'ssh-known-hosts': 'x' },
      /input `ssh-host` = `lb1:0`: expected host or host:port/
    ],
    ['image', { image: 'app:v2' }, /input `image` = `app:v2`: only applies to router `kubernetes`/],
    [
      'nginx-upstream-file',
      {
        router: 'nginx',
        'blue-servers': 'a:1',
        'green-servers': 'b:1',
        'nginx-upstream-file': 'up.conf'
      },
      /input `nginx-upstream-file` = `up.conf`: expected an absolute path/
    ],
    [
      'green-servers',
      { router: 'nginx', 'blue-servers': 'a:1', 'green-servers': 'b' },
      /input `green-servers` = `b`: expected host:port/
    ],
    [
      'nginx-upstream-options',
      {
        router: 'nginx',
        'blue-servers': 'a:1',
        'green-servers': 'b:1',
        'nginx-upstream-file': '/x',
        'nginx-upstream-options': 'server evil:1; } server {'
      },
      /input `nginx-upstream-options` line/
    ],
    [
      'verify-prometheus-url',
      { 'verify-prometheus-url': 'http://127.0.0.1:9090' },
      /input `verify-prometheus-url` = `http:\/\/127.0.0.1:9090` needs `verify-url` as well/
    ],
    [
      'verify-prometheus-url',
      { 'verify-url': 'http://127.0.0.1:1/', 'verify-prometheus-url': 'prometheus:9090' },
      /input `verify-prometheus-url`/
    ],
    [
      'metrics-preset',
      {
        'verify-url': 'http://127.0.0.1:1/',
        'verify-prometheus-url': 'http://127.0.0.1:9090',
        'metrics-preset': 'statsd'
      },
      /input `metrics-preset` = `statsd`: expected one of `fastapi-instrumentator`/
    ],
    [
      'verify-selector',
      {
        'verify-url': 'http://127.0.0.1:1/',
        'verify-prometheus-url': 'http://127.0.0.1:9090',
        'verify-selector': 'slot="green"'
      },
      /input `verify-selector` = `slot="green"`: must contain \{\{slot\}\}/
    ],
    [
      'prometheus-timeout',
      {
        'verify-url': 'http://127.0.0.1:1/',
        'verify-prometheus-url': 'http://127.0.0.1:9090',
        'prometheus-timeout': '0s'
      },
      /input `prometheus-timeout` = `0s`: must be more than 0/
    ],
    [
      'prometheus-headers',
      {
        'verify-url': 'http://127.0.0.1:1/',
        'verify-prometheus-url': 'http://127.0.0.1:9090',
        'prometheus-headers': 'not a header'
      },
      /input `prometheus-headers` \(values hidden\): expected `Name: value` lines/
    ]
  ]

  it.each(cases)('%s: %j', async (input, bad, message) => {
    const weights = (): Promise<string> => lb.command('get weight app/blue; get weight app/green')
    const before = await weights()
    const values = { ...haproxyInputs(app, [lb.socket]), ...bad }
    const error = await run(io(values)).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).input).toBe(input)
    expect((error as Error).message).toMatch(message)
    // Nothing touched: same weights, no lock taken.
    expect(await weights()).toBe(before)
    expect(existsSync(`${lb.socket}.ops-actions.lock`)).toBe(false)
  })

  it('an unreachable runtime API exits 3 ("could not run") and names the input', async () => {
    const values = {
      ...haproxyInputs(app, [lb.socket]),
      'haproxy-socket': '/nonexistent/admin.sock'
    }
    const error = (await run(io(values)).then(
      () => undefined,
      (e: unknown) => e
    )) as Error
    expect(error).toBeInstanceOf(ToolError)
    expect(error.message).toMatch(
      /runtime API unreachable \(input `haproxy-socket` = `\/nonexistent\/admin.sock`; expected a `stats socket/
    )
  })

  it('has at least 15 cases', () => expect(cases.length).toBeGreaterThanOrEqual(15))
})
