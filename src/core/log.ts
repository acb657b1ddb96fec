/**
 * One logger for the whole library. The entry point decides where it goes: the GitHub runner
 * (workflow commands via @actions/core), the CLI (plain text), or a test (captured).
 */
export interface AnnotationProps {
  title?: string
  file?: string
  startLine?: number
}

export interface LogSink {
  info(message: string): void
  debug(message: string): void
  warning(message: string, props?: AnnotationProps): void
  error(message: string, props?: AnnotationProps): void
  notice(message: string, props?: AnnotationProps): void
  startGroup(name: string): void
  endGroup(): void
  setSecret(value: string): void
}

const consoleSink: LogSink = {
  info: (m) => process.stdout.write(`${m}\n`),
  debug: (m) => {
    if (process.env.OPS_ACTIONS_DEBUG) process.stdout.write(`debug: ${m}\n`)
  },
  warning: (m) => process.stdout.write(`warning: ${m}\n`),
  error: (m) => process.stdout.write(`error: ${m}\n`),
  notice: (m) => process.stdout.write(`notice: ${m}\n`),
  startGroup: (n) => process.stdout.write(`── ${n}\n`),
  endGroup: () => undefined,
  setSecret: () => undefined
}

let sink: LogSink = consoleSink
const secrets = new Set<string>()

export function setLogSink(next: LogSink): void {
  sink = next
}

/** Replaces every registered secret in text (for output we print or store ourselves). */
export function redact(text: string): string {
  let out = text
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join('***')
  return out
}

export const log = {
  info: (m: string) => sink.info(redact(m)),
  debug: (m: string) => sink.debug(redact(m)),
  warning: (m: string, p?: AnnotationProps) => sink.warning(redact(m), p),
  error: (m: string, p?: AnnotationProps) => sink.error(redact(m), p),
  notice: (m: string, p?: AnnotationProps) => sink.notice(redact(m), p),
  /** Registers a value that must never be printed: masked by the runner and by redact(). */
  secret(value: string | undefined): void {
    if (!value) return
    secrets.add(value)
    sink.setSecret(value)
    // The runner masks line by line: a multi-line secret (a key) must be registered per line.
    for (const line of value.split(/\r?\n/)) {
      if (line.trim().length >= 8 && line !== value) {
        secrets.add(line)
        sink.setSecret(line)
      }
    }
  },
  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    sink.startGroup(name)
    try {
      return await fn()
    } finally {
      sink.endGroup()
    }
  }
}
