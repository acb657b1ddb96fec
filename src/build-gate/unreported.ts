/**
 * Failures a test runner prints but leaves out of its JUnit report, so a non-zero exit is
 * never taken as "explained by the failed tests" while they hide something that never ran:
 * - jest: `● Test suite failed to run` (an import or syntax error; jest-junit omits the file),
 * - pytest: `ERROR collecting …` and `Interrupted: N error(s) during collection`,
 * - go test: `FAIL <pkg> [build failed]` / `[setup failed]`, and `panic:` outside any test,
 * - Gradle / Maven Surefire: the test JVM died (OOM killer, System.exit); both exit 1 and keep
 *   the per-class reports of the classes that ran.
 */
export interface OutputScan {
  /** What was seen, one entry per hidden failure, e.g. `jest: test suite failed to run: a.test.ts`. */
  found: string[]
  /** The last `FAIL <file>` line of jest, which names the suite a failure block belongs to. */
  lastJestFile?: string
}

const MAX_FOUND = 20

export function newScan(): OutputScan {
  return { found: [] }
}

// Colour codes some runners print even to a pipe (FORCE_COLOR, CI=true).
// eslint-disable-next-line no-control-regex -- the escape character is what is matched
const ANSI = /\x1b\[[0-9;]*m/g

/** Feeds one output line; pure, so the rules are table-tested without running anything. */
export function scanLine(scan: OutputScan, raw: string): void {
  const line = raw.replace(ANSI, '').trimEnd()
  const add = (what: string) => {
    if (scan.found.length < MAX_FOUND && !scan.found.includes(what)) scan.found.push(what)
  }
  let m: RegExpExecArray | null
  if ((m = /^\s*FAIL\s+(\S+\.[cm]?[jt]sx?)\b/.exec(line)))
    scan.lastJestFile = m[1].replace(/^\.\//, '')
  else if (/^\s*●\s+Test suite failed to run/.test(line))
    add(`jest: test suite failed to run${scan.lastJestFile ? `: ${scan.lastJestFile}` : ''}`)
  else if ((m = /^_+ ERROR collecting (\S+) _+$/.exec(line)))
    add(`pytest: collection error in ${m[1]}`)
  else if ((m = /^(?:!+ )?Interrupted: (\d+) errors? during collection/.exec(line)))
    add(`pytest: interrupted, ${m[1]} error(s) during collection`)
  else if ((m = /^FAIL\s+(\S+)\s+\[(build|setup) failed\]/.exec(line)))
    add(`go test: ${m[1]} ${m[2]} failed`)
  else if (
    (m = /Process '(Gradle Test Executor \d+)' finished with non-zero exit value (\d+)/.exec(line))
  )
    add(`gradle: test JVM ${m[1]} exited ${m[2]}`)
  else if ((m = /Could not complete execution for (Gradle Test Executor \d+)/.exec(line)))
    add(`gradle: could not complete execution for ${m[1]}`)
  else if (/The forked VM terminated without (properly )?saying goodbye/.test(line))
    add('surefire: the forked test JVM terminated (crash or System.exit)')
  else if (
    (m = /^(?:panic: .*|fatal error: .*)$/.exec(line)) &&
    !/^panic: test timed out/.test(line)
  )
    add(`go test: ${m[0].slice(0, 120)}`)
}
