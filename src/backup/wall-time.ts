/**
 * pg_dump stores an archive's creation time as the dumping machine's local wall time, with no
 * zone (pg_restore prints it with its own zone's name). Pure: the instant it names, given the
 * dump's zone, or the window of instants it may name when the zone is unknown.
 */
import { ConfigurationError } from '../core/errors.js'

export type TimeZone = { offsetMinutes: number } | { iana: string }

/** Every zone in use lies between UTC-12 and UTC+14. */
const EARLIEST_OFFSET_H = 14
const LATEST_OFFSET_H = 12

/** `UTC`, `+09:00`, `-0530`, or an IANA name such as `Asia/Tokyo`. */
export function parseTimeZone(input: string, raw: string): TimeZone {
  const text = raw.trim()
  if (/^(UTC|GMT|Z)$/i.test(text)) return { offsetMinutes: 0 }
  const offset = /^([+-])(\d\d):?(\d\d)$/.exec(text)
  if (offset) {
    const minutes = Number(offset[2]) * 60 + Number(offset[3])
    if (minutes <= 14 * 60 && Number(offset[3]) < 60)
      return { offsetMinutes: offset[1] === '-' ? -minutes : minutes }
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: text })
    if (/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(text)) return { iana: text }
  } catch {
    // falls through to the error below
  }
  throw new ConfigurationError(
    `input \`${input}\` = \`${text}\`: expected the dump machine's time zone: an IANA name (\`Asia/Tokyo\`), \`UTC\` or an offset (\`+09:00\`)`,
    input
  )
}

/** `YYYY-MM-DD HH:MM:SS` as if it were UTC, in milliseconds. */
function wallAsUtc(wall: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(wall)
  if (!m) throw new Error(`not a wall time: ${wall}`)
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number)
  return Date.UTC(y, mo - 1, d, h, mi, s)
}

function ianaOffsetMinutes(zone: string, instant: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit'
  }).formatToParts(new Date(instant))
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value)
  const local = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second')
  )
  return Math.round((local - instant) / 60_000)
}

/**
 * The instant a wall time names in `zone`. When a DST change repeats it, the earlier one (the
 * older backup: max-age must not gain an hour); when the change skips it, the earlier reading.
 */
export function wallTimeToInstant(wall: string, zone: TimeZone): Date {
  const asUtc = wallAsUtc(wall)
  if ('offsetMinutes' in zone) return new Date(asUtc - zone.offsetMinutes * 60_000)
  // The zone's offsets a day either side of the wall time cover both sides of any change.
  const day = 86_400_000
  const offsets = new Set([-day, 0, day].map((d) => ianaOffsetMinutes(zone.iana, asUtc + d)))
  const instants = [...offsets].map((o) => asUtc - o * 60_000)
  const named = instants.filter(
    (t) => ianaOffsetMinutes(zone.iana, t) === Math.round((asUtc - t) / 60_000)
  )
  return new Date(Math.min(...(named.length ? named : instants)))
}

/** Every instant the wall time may name when the dump's zone is unknown. */
export function wallTimeWindow(wall: string): { earliest: Date; latest: Date } {
  const asUtc = wallAsUtc(wall)
  return {
    earliest: new Date(asUtc - EARLIEST_OFFSET_H * 3_600_000),
    latest: new Date(asUtc + LATEST_OFFSET_H * 3_600_000)
  }
}
