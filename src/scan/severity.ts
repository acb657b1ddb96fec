import { ConfigurationError } from '../core/errors.js'

/** Trivy's severities, most severe first (the order of every table and of the SARIF file). */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const
export type Severity = (typeof SEVERITIES)[number]

export function toSeverity(raw: unknown): Severity {
  const upper = String(raw ?? '').toUpperCase()
  return (SEVERITIES as readonly string[]).includes(upper) ? (upper as Severity) : 'UNKNOWN'
}

/** 0 for CRITICAL .. 4 for UNKNOWN: sorts the most severe first. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity)
}

/** `CRITICAL,HIGH` (any case, commas or new lines) -> a set; unknown names are refused. */
export function parseSeverityList(name: string, items: string[]): Set<Severity> {
  if (items.length === 0) {
    throw new ConfigurationError(
      `input \`${name}\` is empty: expected severities such as CRITICAL,HIGH`,
      name
    )
  }
  const result = new Set<Severity>()
  for (const item of items) {
    const upper = item.toUpperCase()
    if (!(SEVERITIES as readonly string[]).includes(upper)) {
      throw new ConfigurationError(
        `input \`${name}\` = \`${items.join(',')}\`: \`${item}\` is not a severity; expected any of ${SEVERITIES.join(', ')}`,
        name
      )
    }
    result.add(upper as Severity)
  }
  return result
}
