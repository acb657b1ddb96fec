import { describe, expect, it } from '@jest/globals'
import { isSecretInput, secretEnvName, type ActionSpec } from '../../src/cli/action-spec.js'
import { closeMatches, parseArgs } from '../../src/cli/args.js'
import { formatOutputs } from '../../src/cli/io.js'

const spec: ActionSpec = {
  name: 'demo',
  description: 'demo action',
  inputs: {
    router: { description: 'router', required: true },
    'dry-run': { description: 'plan only', required: false, default: 'false' },
    'prometheus-token': { description: 'Bearer token (pass a secret).', required: false },
    'state-file': { description: 'a path', required: false },
    image: { description: 'image', required: false }
  },
  outputs: {}
}

const values = (argv: string[], env: NodeJS.ProcessEnv = {}): Record<string, string> =>
  Object.fromEntries(Object.entries(parseArgs(argv, spec, env).given).map(([k, v]) => [k, v.value]))

describe('parseArgs', () => {
  it.each([
    [['--router', 'haproxy'], { router: 'haproxy' }],
    [['--router=nginx'], { router: 'nginx' }],
    [['--router', 'haproxy', '--dry-run'], { router: 'haproxy', 'dry-run': 'true' }],
    [['--dry-run', '--router', 'haproxy'], { router: 'haproxy', 'dry-run': 'true' }],
    [['--dry-run', 'false'], { 'dry-run': 'false' }],
    [['--state-file', '/tmp/s'], { 'state-file': '/tmp/s' }],
    [['--router=a=b'], { router: 'a=b' }]
  ])('%j -> %j', (argv, expected) => {
    expect(values(argv)).toEqual(expected)
  })

  it.each([
    [['--routr', 'x'], /unknown option --routr for demo; did you mean --router\?/],
    [['--colour', 'x'], /unknown option --colour for demo; see ops-actions demo --help/],
    [['--router'], /option --router needs a value/],
    [['haproxy'], /unexpected argument `haproxy`/],
    [['--router', 'a', '--router', 'b'], /input `router` is given twice/]
  ])('%j is rejected: %s', (argv, message) => {
    expect(() => parseArgs(argv, spec, {})).toThrow(message)
  })

  it('takes a secret from OPS_<NAME>, and a flag wins over it', () => {
    expect(values([], { OPS_PROMETHEUS_TOKEN: 't0ken' })).toEqual({ 'prometheus-token': 't0ken' })
    expect(values(['--prometheus-token', 'flag'], { OPS_PROMETHEUS_TOKEN: 't0ken' })).toEqual({
      'prometheus-token': 'flag'
    })
  })

  it('never takes a non-secret input from the environment', () => {
    expect(values([], { OPS_IMAGE: 'registry/app:1', OPS_ROUTER: 'nginx' })).toEqual({})
  })
})

describe('helpers', () => {
  it('names the environment variable of a secret input', () => {
    expect(secretEnvName('prometheus-token')).toBe('OPS_PROMETHEUS_TOKEN')
    expect(isSecretInput('ssh-key', { description: 'SSH private key', required: false })).toBe(true)
    expect(
      isSecretInput('ssh-known-hosts', { description: 'known_hosts lines', required: false })
    ).toBe(false)
    expect(
      isSecretInput('database-url', {
        description: 'The password is masked everywhere.',
        required: true
      })
    ).toBe(true)
  })

  it('suggests close input names', () => {
    expect(
      closeMatches('health-url-bleu', ['health-url-blue', 'health-url-green', 'router'])[0]
    ).toBe('health-url-blue')
    expect(closeMatches('xyz', ['health-url-blue', 'router'])).toEqual([])
  })

  it('prints outputs as name=value, multi-line ones as heredocs', () => {
    expect(
      formatOutputs(
        new Map([
          ['a', '1'],
          ['b', 'x\nEOF\ny']
        ])
      )
    ).toBe('a=1\nb<<EOF_\nx\nEOF\ny\nEOF_')
  })
})
