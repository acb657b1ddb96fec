import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readActionSpec } from '../../src/cli/action-spec.js'
import { ConfigurationError } from '../../src/core/errors.js'
import { Inputs } from '../../src/core/inputs.js'
import { readRouterConfig } from '../../src/actions/release-inputs/router.js'
import { settingsLayer } from '../../src/settings/layer.js'
import {
  MAX_SETTINGS_BYTES,
  attributeToSettings,
  layeredSource,
  parseSettings,
  readSettingsFile
} from '../../src/settings/settings-file.js'
import { repoRoot } from '../../lab/action-yml.js'

const deploySpec = readActionSpec(repoRoot, 'deploy-bluegreen')
const own = Object.keys(deploySpec.inputs)
const parse = (text: string, action = 'deploy-bluegreen'): Record<string, string> =>
  Object.fromEntries(
    [...parseSettings(text, 'prod.yml', action, own)].map(([k, v]) => [k, v.value])
  )
const refusal = (text: string): string => {
  try {
    parse(text)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError)
    return (error as Error).message
  }
  throw new Error('accepted')
}

describe('parseSettings', () => {
  it('merges the shared deploy section with the action section, which wins', () => {
    expect(
      parse(
        [
          'deploy:',
          '  router: haproxy',
          '  haproxy-socket: /run/haproxy/admin.sock',
          '  health-checks: 010',
          '  nginx-mode: yes',
          'deploy-bluegreen:',
          '  haproxy-socket: 10.0.0.5:9999',
          '  verify-url: https://shop.example.com/',
          'canary-promote:',
          '  steps: 5,50,100'
        ].join('\n')
      )
    ).toEqual({
      router: 'haproxy',
      'haproxy-socket': '10.0.0.5:9999',
      // source text, not YAML 1.1 reinterpretation: the action's own parsers judge it
      'health-checks': '010',
      'nginx-mode': 'yes',
      'verify-url': 'https://shop.example.com/'
    })
  })

  it('keeps a block scalar (lists one per line)', () => {
    expect(parse('deploy:\n  blue-servers: |\n    10.0.0.1:80\n    10.0.0.2:80\n')).toEqual({
      'blue-servers': '10.0.0.1:80\n10.0.0.2:80\n'
    })
  })

  it.each([
    [
      'unknown section',
      'deploys:\n  router: haproxy\n',
      /unknown section `deploys`; accepted sections: `deploy`, `deploy-bluegreen`, `canary-promote`/
    ],
    [
      'unknown key, with the accepted list',
      'deploy:\n  routr: haproxy\n',
      /key deploy\.routr: unknown key; the shared section `deploy` accepts `router`, `lock-timeout`/
    ],
    [
      'an action key in the shared section',
      'deploy:\n  verify-url: http://x/\n',
      /`verify-url` belongs in section `deploy-bluegreen`/
    ],
    [
      'a secret',
      'deploy-bluegreen:\n  github-token: ghp_x\n',
      /key deploy-bluegreen\.github-token: a secret never goes in a committed file/
    ],
    ['the ssh key', 'deploy:\n  ssh-key: x\n', /ssh-key: a secret never goes/],
    ['a per-run choice', 'deploy-bluegreen:\n  mode: rollback\n', /mode is chosen per run/],
    ['a list value', 'deploy:\n  ssh-host: [a, b]\n', /expected a single value/],
    ['a map value', 'deploy:\n  router: {a: b}\n', /expected a single value/],
    ['an empty value', 'deploy:\n  router:\n', /empty value; remove the key/],
    ['an alias', 'deploy:\n  router: &r haproxy\n  app: *r\n', /anchors|aliases/],
    [
      'a merge key bomb',
      'a: &a [x, x]\nb: &b [*a, *a]\ndeploy:\n  router: haproxy\n',
      /anchors|aliases|unknown section/
    ],
    ['broken YAML', 'deploy:\n  router: "haproxy\n', /not valid YAML/],
    [
      'duplicate keys',
      'deploy:\n  router: haproxy\n  router: nginx\n',
      /not valid YAML: .*unique/i
    ],
    ['a top-level list', '- deploy\n', /expected a map with the sections/],
    ['an empty file', '', /the file is empty/],
    [
      'several YAML documents',
      'deploy:\n  router: haproxy\n---\ndeploy:\n  router: nginx\n',
      /not valid YAML/
    ],
    ['a custom tag', 'deploy:\n  router: !evil haproxy\n', /not valid YAML|unresolved tag/i],
    [
      'a placeholder left by init',
      'deploy:\n  ssh-host: lb1.CHANGE-ME.internal\n',
      /key deploy\.ssh-host: still the placeholder `lb1\.CHANGE-ME\.internal`/
    ],
    [
      'a deploy command (a rollback reads the same file)',
      'deploy:\n  deploy-command: ./x\n',
      /a rollback \(same file\) never runs it/
    ],
    ['too big', `deploy:\n  app: ${'x'.repeat(MAX_SETTINGS_BYTES)}\n`, /larger than 65536 bytes/]
  ])('refuses %s', (_what, text, message) => {
    expect(refusal(text)).toMatch(message)
  })

  it('skips another action section without judging it', () => {
    expect(parse('canary-promote:\n  no-such-key: 1\ndeploy:\n  app: shop\n')).toEqual({
      app: 'shop'
    })
  })
})

describe('layeredSource', () => {
  const settings = parseSettings(
    'deploy:\n  router: haproxy\n  haproxy-backend: web\n',
    'prod.yml',
    'deploy-bluegreen',
    own
  )
  it.each([
    ['given input wins', { router: 'nginx' }, ['router'], 'router', 'nginx'],
    ['the file fills an input not given', {}, [], 'router', 'haproxy'],
    ['the file beats a default', { 'haproxy-backend': 'app' }, [], 'haproxy-backend', 'web'],
    ['an input not in the file stays', { app: 'x' }, ['app'], 'app', 'x']
  ])('%s', (_what, values: Record<string, string>, given: string[], name, expected) => {
    const source = layeredSource(
      (n) => values[n] ?? '',
      settings,
      (n) => given.includes(n)
    )
    expect(source(name)).toBe(expected)
  })

  it('names the file and key when the action refuses a value from it', () => {
    const bad = parseSettings('deploy:\n  router: haprox\n', 'prod.yml', 'deploy-bluegreen', own)
    const isGiven = (): boolean => false
    const inputs = new Inputs(layeredSource(() => '', bad, isGiven))
    let thrown: unknown
    try {
      readRouterConfig(inputs)
    } catch (error) {
      thrown = attributeToSettings(error, bad, isGiven)
    }
    expect(thrown).toBeInstanceOf(ConfigurationError)
    expect((thrown as Error).message).toMatch(
      /^input `router` \(from prod\.yml, key deploy\.router\) = `haprox`: expected one of `haproxy`, `nginx`, `kubernetes`/
    )
  })
})

describe('readSettingsFile / settingsLayer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'settings-'))
  mkdirSync(join(dir, '.github/ops-actions'), { recursive: true })
  writeFileSync(join(dir, '.github/ops-actions/production.yml'), 'deploy:\n  router: nginx\n')
  symlinkSync(join(dir, '.github/ops-actions/production.yml'), join(dir, 'link.yml'))

  it('reads a path relative to the workspace', () => {
    const layer = settingsLayer(
      (n) => (n === 'settings-file' ? '.github/ops-actions/production.yml' : ''),
      deploySpec,
      () => false,
      dir
    )
    expect(layer.source('router')).toBe('nginx')
  })

  it.each([
    ['a missing file', 'nope.yml', /cannot read the file .*actions\/checkout/],
    ['a directory', '.github', /not a regular file/],
    ['a symlink (e.g. to a file outside the checkout)', 'link.yml', /not a regular file/]
  ])('refuses %s', (_what, path, message) => {
    expect(() => readSettingsFile(path, 'deploy-bluegreen', own, dir)).toThrow(message)
  })

  it('is not read by an action that does not declare settings-file', () => {
    const layer = settingsLayer(
      (n) => (n === 'settings-file' ? 'nope.yml' : ''),
      readActionSpec(repoRoot, 'build-gate'),
      () => false,
      dir
    )
    expect(layer.source('settings-file')).toBe('nope.yml')
  })
})
