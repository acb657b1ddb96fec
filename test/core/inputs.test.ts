import { describe, expect, it } from '@jest/globals'
import { ConfigurationError } from '../../src/core/errors.js'
import {
  Inputs,
  parseBoolean,
  parseCommand,
  parseDuration,
  parseEnum,
  parseHostPort,
  parseInteger,
  parseList,
  parsePercent,
  parseUrl,
  splitHostPort
} from '../../src/core/inputs.js'
import { formatDuration } from '../../src/core/duration.js'

describe('typed input parsers', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1.5s', 1500],
    ['0', 0]
  ])('duration %s = %d ms', (raw, ms) => expect(parseDuration('d', raw)).toBe(ms))

  it.each(['', '5', '5x', 'm5', '5 m', '-1s', '1h 30m'])('duration %j is rejected', (raw) => {
    expect(() => parseDuration('health-interval', raw)).toThrow(
      `input \`health-interval\` = \`${raw}\`: expected a duration such as 500ms, 30s, 5m, 1h30m or 2d`
    )
  })

  it.each([
    ['0.1%', 0.1],
    ['0.1', 0.1],
    ['5', 5],
    ['100%', 100],
    [' 2 % ', 2]
  ])('percent %j = %d', (raw, v) => expect(parsePercent('p', raw)).toBe(v))

  it.each(['101', '-1', 'abc', '1%%', ''])('percent %j is rejected', (raw) => {
    expect(() => parsePercent('max-error-rate', raw)).toThrow(
      /input `max-error-rate` = .*percentage from 0 to 100/
    )
  })

  it('lists split on commas and newlines, drop blanks and comments', () => {
    expect(parseList('a, b\n\n# note\nc,,d ')).toEqual(['a', 'b', 'c', 'd'])
    expect(parseList('')).toEqual([])
  })

  it('enums name what is accepted', () => {
    expect(parseEnum('router', 'nginx', ['haproxy', 'nginx'])).toBe('nginx')
    expect(() => parseEnum('router', 'envoy', ['haproxy', 'nginx'])).toThrow(
      'input `router` = `envoy`: expected one of `haproxy`, `nginx`'
    )
  })

  it.each([
    ['true', true],
    ['TRUE', true],
    ['False', false]
  ])('boolean %s', (raw, v) => expect(parseBoolean('b', raw)).toBe(v))

  it.each(['yes', '1', 'on'])('boolean %s is rejected (YAML 1.2 core only)', (raw) => {
    expect(() => parseBoolean('dry-run', raw)).toThrow(
      'input `dry-run` = `' + raw + '`: expected `true` or `false`'
    )
  })

  it('integers are bounded', () => {
    expect(parseInteger('n', '3', 1, 10)).toBe(3)
    expect(() => parseInteger('health-checks', '0', 1, 100)).toThrow('from 1 to 100')
    expect(() => parseInteger('health-checks', '2.5', 1, 100)).toThrow(ConfigurationError)
  })

  it('URLs need a scheme and a host', () => {
    expect(parseUrl('u', 'http://127.0.0.1:8080/healthz').port).toBe('8080')
    expect(() => parseUrl('verify-url', 'localhost:8080')).toThrow(/verify-url.*scheme/)
    expect(() => parseUrl('verify-url', 'not a url')).toThrow(/absolute URL/)
  })

  it('host:port', () => {
    expect(parseHostPort('s', '10.0.0.5:8080')).toEqual({ host: '10.0.0.5', port: 8080 })
    expect(parseHostPort('s', '[::1]:80')).toEqual({ host: '::1', port: 80 })
    expect(() => parseHostPort('blue-servers', '10.0.0.5')).toThrow(/host:port/)
    expect(() => parseHostPort('blue-servers', 'h:70000')).toThrow(/host:port/)
  })

  it.each([
    ['10.0.0.5:8080', undefined, { host: '10.0.0.5', port: 8080 }],
    [' lb1.internal:22 ', undefined, { host: 'lb1.internal', port: 22 }],
    ['[::1]:80', undefined, { host: '::1', port: 80 }],
    ['[fe80::1]', 22, { host: 'fe80::1', port: 22 }],
    ['lb1', 22, { host: 'lb1', port: 22 }],
    ['lb1:2222', 22, { host: 'lb1', port: 2222 }],
    ['lb1', undefined, undefined],
    ['h:0', undefined, undefined],
    ['h:65535', undefined, { host: 'h', port: 65535 }],
    ['h:65536', undefined, undefined],
    ['h:123456', undefined, undefined],
    ['::1:80', undefined, undefined],
    ['h:80/path', undefined, undefined],
    ['h;rm -rf /:80', undefined, undefined],
    ['', 22, undefined],
    ['/run/haproxy.sock', undefined, undefined]
  ])('splitHostPort(%j, default %p) -> %j', (raw, defaultPort, expected) => {
    expect(splitHostPort(raw, defaultPort)).toEqual(expected)
  })

  it('commands are argument lists, never shell strings', () => {
    expect(parseCommand('c', 'nginx -s reload')).toEqual(['nginx', '-s', 'reload'])
    expect(parseCommand('c', `sh -c 'echo $HOME; ls'`)).toEqual(['sh', '-c', 'echo $HOME; ls'])
    expect(parseCommand('c', '["a b", "c"]')).toEqual(['a b', 'c'])
    expect(() => parseCommand('c', '[1]')).toThrow(/array of strings/)
    expect(() => parseCommand('nginx-test-command', `nginx '-t`)).toThrow(/unbalanced quote/)
  })
})

describe('Inputs', () => {
  const inputs = new Inputs(
    (n) => ({ router: 'haproxy', 'dry-run': 'true', steps: '5,25' })[n] ?? ''
  )

  it('required inputs say they are missing', () => {
    expect(() => inputs.required('prometheus-url')).toThrow(
      'input `prometheus-url` is required and was not given'
    )
  })

  it('fallbacks apply only when the input is empty', () => {
    expect(inputs.boolean('dry-run')).toBe(true)
    expect(inputs.boolean('auto-rollback', true)).toBe(true)
    expect(inputs.duration('health-interval', '2s')).toBe(2000)
    expect(inputs.list('steps')).toEqual(['5', '25'])
    expect(inputs.enum('mode', ['deploy', 'rollback'], 'deploy')).toBe('deploy')
  })

  it('errors carry the input name for the caller', () => {
    try {
      inputs.enum('router', ['nginx'])
      throw new Error('not thrown')
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigurationError)
      expect((e as ConfigurationError).input).toBe('router')
    }
  })
})

describe('formatDuration', () => {
  it.each([
    [850, '850ms'],
    [12_300, '12.3s'],
    [245_000, '4m05s']
  ])('%d ms -> %s', (ms, text) => expect(formatDuration(ms)).toBe(text))
})
