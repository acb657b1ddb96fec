/** atk16: a wall time repeated by a DST change is read as its earlier instant (the older backup). */
import { describe, expect, it } from '@jest/globals'
import { wallTimeToInstant } from '../../src/backup/wall-time.js'

describe('the wall time of a DST overlap is its earlier instant, in every hemisphere', () => {
  it.each([
    ['2026-11-01 01:30:00', 'America/New_York', '2026-11-01T05:30:00.000Z'],
    ['2026-10-25 02:30:00', 'Europe/Berlin', '2026-10-25T00:30:00.000Z'],
    ['2026-04-05 02:30:00', 'Australia/Sydney', '2026-04-04T15:30:00.000Z'],
    ['2026-04-05 01:45:00', 'Australia/Lord_Howe', '2026-04-04T14:45:00.000Z'],
    // Not repeated: one instant.
    ['2026-07-01 12:00:00', 'Europe/Berlin', '2026-07-01T10:00:00.000Z'],
    ['2026-01-15 09:00:00', 'Asia/Tokyo', '2026-01-15T00:00:00.000Z'],
    // Skipped by the change (the clock jumps): the earlier reading, never younger than either.
    ['2026-03-29 02:30:00', 'Europe/Berlin', '2026-03-29T00:30:00.000Z']
  ])('%s in %s is %s', (wall, iana, iso) => {
    expect(wallTimeToInstant(wall, { iana }).toISOString()).toBe(iso)
  })
})
