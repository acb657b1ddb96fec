import { describe, expect, test } from '@jest/globals'
import { formatDuration, parseDurationMs } from '../../src/core/duration.js'

describe('formatDuration', () => {
  test.each([
    [0, '0ms'],
    [850, '850ms'],
    [999, '999ms'],
    [1000, '1.0s'],
    [12_300, '12.3s'],
    [60_000, '1m00s'],
    [245_000, '4m05s'],
    [3_599_000, '59m59s'],
    [3_600_000, '1h00m'],
    [26 * 3_600_000, '26h00m'],
    [50 * 3_600_000 + 7 * 60_000 + 59_000, '50h07m']
  ])('%p ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})

describe('parseDurationMs', () => {
  test.each([
    ['0', 0],
    ['500ms', 500],
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    [' 2d ', 172_800_000],
    ['1.5s', 1500],
    ['', undefined],
    ['5', undefined],
    ['5 m', undefined],
    ['-5s', undefined],
    ['5mm', undefined],
    ['s', undefined]
  ])('%j -> %p', (raw, ms) => {
    expect(parseDurationMs(raw)).toBe(ms)
  })
})
