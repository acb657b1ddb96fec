import { ConfigurationError } from './errors.js'
import { parseDurationMs } from './duration.js'

/** Where raw input values come from: the runner's INPUT_* variables, the CLI, or a test. */
export type InputSource = (name: string) => string

function fail(name: string, value: string, accepted: string): never {
  const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value
  throw new ConfigurationError(`input \`${name}\` = \`${shown}\`: ${accepted}`, name)
}

export function parseDuration(name: string, raw: string): number {
  const ms = parseDurationMs(raw)
  if (ms === undefined) fail(name, raw, 'expected a duration such as 500ms, 30s, 5m, 1h30m or 2d')
  return ms
}

/** `0.1%` or `0.1` both mean 0.1 percent; returns the percentage (0..100). */
export function parsePercent(name: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(raw.trim())
  const value = m ? Number(m[1]) : NaN
  if (!m || !(value >= 0 && value <= 100)) {
    fail(name, raw, 'expected a percentage from 0 to 100, such as 0.1% or 5')
  }
  return value
}

/** Items separated by commas or newlines; blank items and `#` comment lines dropped. */
export function parseList(raw: string): string[] {
  return raw
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

/** Items separated by newlines only (for values that may contain commas, such as SQL). */
export function parseLines(raw: string): string[] {
  return raw
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
}

export function parseEnum<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  const value = raw.trim()
  if (!(allowed as readonly string[]).includes(value)) {
    fail(name, raw, `expected one of ${allowed.map((a) => `\`${a}\``).join(', ')}`)
  }
  return value as T
}

/** YAML 1.2 core booleans, as @actions/core accepts them. */
export function parseBoolean(name: string, raw: string): boolean {
  const value = raw.trim()
  if (['true', 'True', 'TRUE'].includes(value)) return true
  if (['false', 'False', 'FALSE'].includes(value)) return false
  return fail(name, raw, 'expected `true` or `false`')
}

export function parseInteger(name: string, raw: string, min: number, max: number): number {
  const value = raw.trim()
  if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    fail(name, raw, `expected a whole number from ${min} to ${max}`)
  }
  return Number(value)
}

export function parseUrl(name: string, raw: string, protocols = ['http:', 'https:']): URL {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    return fail(name, raw, `expected an absolute URL (${protocols.join(' or ')}//host[:port]/path)`)
  }
  if (!protocols.includes(url.protocol)) {
    fail(name, raw, `expected a URL with scheme ${protocols.join(' or ')}`)
  }
  return url
}

/**
 * `host:port` (IPv6 as `[::1]:8080`, brackets dropped) with a port from 1 to 65535, or
 * undefined. With `defaultPort` the port may be left out. The one host:port reader.
 */
export function splitHostPort(
  raw: string,
  defaultPort?: number
): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(raw.trim())
  if (!m || (m[2] === undefined && defaultPort === undefined)) return undefined
  const port = m[2] === undefined ? defaultPort! : Number(m[2])
  if (port < 1 || port > 65535) return undefined
  return { host: m[1].replace(/^\[|\]$/g, ''), port }
}

/** `host:port` with a port from 1 to 65535 (IPv6 as `[::1]:8080`). */
export function parseHostPort(name: string, raw: string): { host: string; port: number } {
  return splitHostPort(raw) ?? fail(name, raw, 'expected host:port, such as 10.0.0.5:8080')
}

/**
 * A command as an argument list, never a shell string: either a JSON array
 * (`["nginx", "-s", "reload"]`) or words split on white space, with '…' and "…" grouping.
 * No expansion of any kind happens; a user who wants a shell writes `["sh", "-c", "…"]`.
 */
export function parseCommand(name: string, raw: string): string[] {
  const text = raw.trim()
  if (text.startsWith('[')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return fail(name, raw, 'expected a JSON array of strings, such as ["nginx", "-s", "reload"]')
    }
    if (
      !Array.isArray(parsed) ||
      parsed.length === 0 ||
      !parsed.every((a) => typeof a === 'string')
    ) {
      fail(name, raw, 'expected a non-empty JSON array of strings')
    }
    return parsed as string[]
  }
  const args: string[] = []
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) args.push(m[1] ?? m[2] ?? m[3])
  if (args.length === 0) fail(name, raw, 'expected a command, such as `nginx -s reload`')
  if (text.split(/["']/).length % 2 === 0) fail(name, raw, 'unbalanced quote in command')
  return args
}

/** Typed access to one action's inputs; every getter validates and names the input on error. */
export class Inputs {
  constructor(private readonly source: InputSource) {}

  raw(name: string): string {
    return (this.source(name) ?? '').trim()
  }

  has(name: string): boolean {
    return this.raw(name) !== ''
  }

  required(name: string): string {
    const value = this.raw(name)
    if (value === '')
      throw new ConfigurationError(`input \`${name}\` is required and was not given`, name)
    return value
  }

  optional(name: string): string | undefined {
    const value = this.raw(name)
    return value === '' ? undefined : value
  }

  enum<T extends string>(name: string, allowed: readonly T[], fallback?: T): T {
    const value = this.raw(name)
    if (value === '' && fallback !== undefined) return fallback
    return parseEnum(name, this.required(name), allowed)
  }

  optionalEnum<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    return this.has(name) ? parseEnum(name, this.raw(name), allowed) : undefined
  }

  duration(name: string, fallback?: string): number {
    const value = this.raw(name) || fallback
    if (value === undefined) return parseDuration(name, this.required(name))
    return parseDuration(name, value)
  }

  optionalDuration(name: string): number | undefined {
    return this.has(name) ? parseDuration(name, this.raw(name)) : undefined
  }

  percent(name: string, fallback?: string): number {
    return parsePercent(name, this.raw(name) || fallback || this.required(name))
  }

  boolean(name: string, fallback = false): boolean {
    return this.has(name) ? parseBoolean(name, this.raw(name)) : fallback
  }

  integer(name: string, min: number, max: number, fallback?: number): number {
    if (!this.has(name) && fallback !== undefined) return fallback
    return parseInteger(name, this.required(name), min, max)
  }

  list(name: string): string[] {
    return parseList(this.raw(name))
  }

  lines(name: string): string[] {
    return parseLines(this.source(name) ?? '')
  }

  url(name: string, protocols?: string[]): URL {
    return parseUrl(name, this.required(name), protocols)
  }

  optionalUrl(name: string, protocols?: string[]): URL | undefined {
    return this.has(name) ? parseUrl(name, this.raw(name), protocols) : undefined
  }

  command(name: string, fallback?: string): string[] {
    const value = this.raw(name) || fallback
    return parseCommand(name, value ?? this.required(name))
  }

  optionalCommand(name: string): string[] | undefined {
    return this.has(name) ? parseCommand(name, this.raw(name)) : undefined
  }
}

/** Rejects a combination of inputs that cannot work together. */
export function requireTogether(inputs: Inputs, when: string, needs: string[]): void {
  for (const name of needs) {
    if (!inputs.has(name)) {
      throw new ConfigurationError(`input \`${name}\` is required when ${when}`, name)
    }
  }
}
