/** One problem in one file, located by 1-based line and column. */
export interface Finding {
  file: string
  line: number
  column: number
  /** Which check found it: one of our rule ids, or `workflow-parser:<kind>` / `actionlint:<kind>`. */
  rule: string
  message: string
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.column} [${f.rule}] ${f.message}`
}
