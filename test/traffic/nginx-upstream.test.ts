import { describe, expect, test } from '@jest/globals'
import { parseUpstream, renderUpstream } from '../../src/traffic/nginx.js'
import type { Weights } from '../../src/traffic/slots.js'

const one = { blue: ['10.0.0.1:8080'], green: ['10.0.0.2:8080'] }
const uneven = {
  blue: ['10.0.0.1:80', '10.0.0.3:80'],
  green: ['10.0.0.2:80', '10.0.0.4:80', '10.0.0.6:80']
}
const at = '2026-12-01T00:00:00Z'

describe('renderUpstream', () => {
  test.each([
    [
      'all on blue: green servers down',
      one,
      { blue: 100, green: 0 },
      ['    server 10.0.0.1:8080 weight=100; # blue', '    server 10.0.0.2:8080 down; # green']
    ],
    [
      'a 5% canary on green',
      one,
      { blue: 95, green: 5 },
      ['    server 10.0.0.1:8080 weight=95; # blue', '    server 10.0.0.2:8080 weight=5; # green']
    ],
    [
      // 2 and 3 servers: per-server weights scaled by lcm(2,3)=6 so each slot's SHARE is asked
      'uneven server counts keep the slot shares',
      uneven,
      { blue: 75, green: 25 },
      [
        '    server 10.0.0.1:80 weight=225; # blue',
        '    server 10.0.0.3:80 weight=225; # blue',
        '    server 10.0.0.2:80 weight=50; # green',
        '    server 10.0.0.4:80 weight=50; # green',
        '    server 10.0.0.6:80 weight=50; # green'
      ]
    ]
  ])('%s', (_name, servers, weights: Weights, serverLines) => {
    const text = renderUpstream(
      { upstreamName: 'app', servers, upstreamOptions: ['keepalive 16'] },
      weights,
      'blue',
      at
    )
    const lines = text.split('\n')
    expect(lines[1]).toBe(
      `# ops-actions: blue=${weights.blue} green=${weights.green} previous=blue changed=${at}`
    )
    expect(lines[2]).toBe('upstream app {')
    expect(lines.filter((l) => l.includes(' server '))).toEqual(serverLines)
    // a directive given without its `;` gets one, exactly one
    expect(lines).toContain('    keepalive 16;')
    expect(text.endsWith('}\n')).toBe(true)
  })

  test('uneven counts: the total per slot is in the asked ratio', () => {
    const text = renderUpstream(
      { upstreamName: 'app', servers: uneven, upstreamOptions: [] },
      { blue: 30, green: 70 },
      'green',
      at
    )
    const sum = (slot: string): number =>
      [...text.matchAll(new RegExp(`weight=(\\d+); # ${slot}`, 'g'))].reduce(
        (n, m) => n + Number(m[1]),
        0
      )
    expect(sum('blue') / (sum('blue') + sum('green'))).toBeCloseTo(0.3, 10)
  })
})

describe('parseUpstream', () => {
  test.each([
    [{ blue: 100, green: 0 }, 'green'],
    [{ blue: 95, green: 5 }, 'blue'],
    [{ blue: 0, green: 100 }, 'blue']
  ] as [Weights, 'blue' | 'green'][])(
    'reads back what renderUpstream wrote: %j',
    (weights, previous) => {
      const text = renderUpstream(
        { upstreamName: 'app', servers: uneven, upstreamOptions: [] },
        weights,
        previous,
        at
      )
      expect(parseUpstream(text, uneven)).toEqual({ weights, previous, changedAt: at })
    }
  )

  test.each([
    ['only blue listed', 'upstream app {\n  server 10.0.0.1:8080;\n}\n', { blue: 100, green: 0 }],
    [
      'green marked down',
      'upstream app {\n  server 10.0.0.1:8080 weight=3;\n  server 10.0.0.2:8080 down;\n}\n',
      { blue: 100, green: 0 }
    ],
    [
      'both up: a split of unknown weights reads 50/50',
      'upstream app {\n  server 10.0.0.1:8080;\n  server 10.0.0.2:8080 max_fails=3;\n}\n',
      { blue: 50, green: 50 }
    ],
    [
      'a commented-out server is not listed',
      'upstream app {\n  # server 10.0.0.2:8080;\n  server 10.0.0.1:8080;\n}\n',
      { blue: 100, green: 0 }
    ],
    [
      'a server whose address only starts like ours is not ours',
      'upstream app {\n  server 10.0.0.1:80801;\n}\n',
      { blue: 0, green: 0 }
    ],
    ['an empty file: no slot', '', { blue: 0, green: 0 }]
  ])('a hand-written file: %s', (_name, text, weights) => {
    expect(parseUpstream(text, one)).toEqual({ weights })
  })
})
