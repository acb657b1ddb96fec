/**
 * Three kinds of failure, kept apart so the user (and the exit code) can tell them apart:
 * - ConfigurationError: the user's input is wrong; nothing was touched.
 * - GateError: the tool ran and a check failed (unhealthy slot, SLO breach, findings, bad backup).
 * - ToolError: the tool could not do its job (server unreachable, command crashed).
 */
export class ConfigurationError extends Error {
  readonly input?: string
  constructor(message: string, input?: string) {
    super(message)
    this.name = 'ConfigurationError'
    this.input = input
  }
}

export class GateError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'GateError'
  }
}

export class ToolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ToolError'
  }
}

/** Exit codes used by the CLI and the bundles (GitHub only sees "non-zero"). */
export const EXIT = { ok: 0, gateFailed: 1, configuration: 2, tool: 3 } as const

export function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigurationError) return EXIT.configuration
  if (error instanceof GateError) return EXIT.gateFailed
  return EXIT.tool
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}

/** Prefix that says which kind of failure this was, for the log and the summary. */
export function describeFailure(error: unknown): string {
  if (error instanceof ConfigurationError) return `Configuration error: ${error.message}`
  if (error instanceof GateError) return `Check failed: ${error.message}`
  if (error instanceof ToolError) return `Could not run: ${error.message}`
  return `Could not run (unexpected error): ${errorMessage(error)}`
}
