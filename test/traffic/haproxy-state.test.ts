// `show servers state` as HAProxy 2.6 (Debian 12) answers it, captured from a real process with
// backends `app` (blue 100, green 0, spare disabled) and `other` (a server also named blue).
import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigurationError, ToolError } from '../../src/core/errors.js'
import { parseServersState } from '../../src/traffic/haproxy.js'

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'haproxy')
const real = readFileSync(join(fixtures, 'show-servers-state-2.6.txt'), 'utf8')
const unknown = readFileSync(join(fixtures, 'show-servers-state-unknown-backend-2.6.txt'), 'utf8')

describe('parseServersState', () => {
  test.each([
    [
      'app',
      {
        blue: { name: 'blue', weight: 100, opState: 2, adminState: 0 },
        green: { name: 'green', weight: 0, opState: 2, adminState: 0 },
        // disabled from the configuration: op state 0 (stopped), admin state 5 (CMAINT|...)
        spare: { name: 'spare', weight: 10, opState: 0, adminState: 5 }
      }
    ],
    // the same server name in another backend is that backend's, never mixed in
    ['other', { blue: { name: 'blue', weight: 7, opState: 2, adminState: 0 } }],
    // a backend name that is a prefix of another is not that other one
    ['ap', {}]
  ])('backend %s', (backend, expected) => {
    expect(Object.fromEntries(parseServersState(real, backend))).toEqual(expected)
  })

  test('columns are found by the header, not by position', () => {
    const lines = real.trim().split('\n')
    const header = lines[1].split(' ')
    // Swap two columns in the header and in every row: the reading must follow.
    const a = header.indexOf('srv_uweight')
    const b = header.indexOf('srv_op_state')
    const swap = (l: string, offset: number): string => {
      const f = l.split(' ')
      ;[f[a - offset], f[b - offset]] = [f[b - offset], f[a - offset]]
      return f.join(' ')
    }
    const text = [lines[0], swap(lines[1], 0), ...lines.slice(2).map((l) => swap(l, 1))].join('\n')
    expect(parseServersState(text, 'app').get('blue')).toEqual({
      name: 'blue',
      weight: 100,
      opState: 2,
      adminState: 0
    })
  })

  test.each([
    ["HAProxy's answer for an unknown backend", unknown, ConfigurationError, /haproxy-backend/],
    ['an answer with no header', '1\n3 app 1 blue 127.0.0.1 2 0 100\n', ToolError, /unexpected/],
    ['an empty answer', '', ToolError, /unexpected answer/],
    ['a permission error', 'Permission denied\n', ToolError, /Permission denied/]
  ])('%s is an error', (_what, text, type, message) => {
    expect(() => parseServersState(text, 'app')).toThrow(type)
    expect(() => parseServersState(text, 'app')).toThrow(message)
  })
})
