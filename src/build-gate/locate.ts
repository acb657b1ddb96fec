import { existsSync, readdirSync } from 'node:fs'
import { basename, isAbsolute, join, relative, resolve } from 'node:path'
import type { TestCase } from './junit.js'

export interface SourceLocation {
  file?: string
  line?: number
}

// `path/to/file.ext:12` or `(…/file.ext:12:5)`, as stack traces and pytest's tracebacks print it.
const LOCATION = /(?:^|[\s("'])((?:[A-Za-z]:)?[^\s():"']+\.[A-Za-z]{1,6}):(\d+)/gm
const NOT_USER_CODE =
  /(^|[\\/])(node_modules|site-packages|dist-packages)[\\/]|^node:|^internal[\\/]/

function locationsIn(text: string): { file: string; line: number }[] {
  const found: { file: string; line: number }[] = []
  for (const m of text.matchAll(LOCATION)) {
    if (!NOT_USER_CODE.test(m[1])) found.push({ file: m[1], line: Number(m[2]) })
  }
  return found
}

/** A path as annotations want it: relative to the workspace, with forward slashes. */
function toWorkspacePath(file: string, workDir: string, workspace: string): string | undefined {
  const absolute = isAbsolute(file) ? file : resolve(workDir, file)
  const rel = relative(workspace, absolute)
  if (rel.startsWith('..') || isAbsolute(rel)) return undefined
  return rel.split('\\').join('/')
}

// `at com.example.CalcTest.divides(CalcTest.java:17)`: a JVM frame (Java, Kotlin, Groovy, Scala),
// optionally after a module or class loader (`java.base/`, Gradle's `app//`).
const JVM_FRAME =
  /\bat\s+(?:[\w.$@-]+\/+)*([\w$.]+)\.[\w$<>]+\(([\w$]+\.(?:java|kt|groovy|scala)):(\d+)\)/g
// Frames of the test framework, assertion libraries and the JDK: never where the user's test failed.
const JVM_LIBRARY =
  /^(java|javax|jdk|sun|com\.sun|kotlin|kotlinx|scala|groovy|org\.codehaus\.groovy|org\.junit|junit|org\.opentest4j|org\.assertj|org\.hamcrest|org\.mockito|org\.spockframework|org\.gradle|org\.apache\.maven|worker\.org\.gradle|org\.testng)\./
// Where Maven and Gradle keep sources, in the working directory or one module below it.
const JVM_ROOTS = [
  'src/test/java',
  'src/test/kotlin',
  'src/test/groovy',
  'src/main/java',
  'src/main/kotlin'
]

/** Sub-projects of a multi-module build (Gradle `app/`, Maven modules): directories one level down. */
function moduleDirs(workDir: string): string[] {
  try {
    return readdirSync(workDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.') && d.name !== 'node_modules')
      .map((d) => d.name)
      .slice(0, 200)
  } catch {
    return []
  }
}

/**
 * The first JVM frame in project code (JUnit 5 / Gradle reports name no file, and their first
 * frame is inside the assertion library), resolved to its source file by package path.
 */
export function firstProjectFrame(
  details: string,
  workDir: string,
  exists: (path: string) => boolean = existsSync,
  modules: string[] = []
): { file: string; line: number } | undefined {
  for (const m of details.matchAll(JVM_FRAME)) {
    const [, qualified, fileName, line] = m
    if (JVM_LIBRARY.test(qualified)) continue
    const pkg = qualified.split('.').slice(0, -1).join('/')
    for (const dir of ['', ...modules])
      for (const root of JVM_ROOTS) {
        const candidate = join(workDir, dir, root, pkg, fileName)
        if (exists(candidate)) return { file: candidate, line: Number(line) }
      }
    // Project code whose source is not where Maven and Gradle keep it: no guess.
    return undefined
  }
  return undefined
}

/**
 * Where a failed test failed, for the annotation: the report's file/line attributes when it has
 * them, refined by the first frame of the failure text that points into that file (or, when the
 * report names no file, into the user's code rather than a library).
 */
export function locateFailure(
  test: TestCase,
  workDir: string,
  workspace: string,
  exists: (path: string) => boolean = existsSync,
  modules: string[] = moduleDirs(workDir)
): SourceLocation {
  if (!test.file && new RegExp(JVM_FRAME.source).test(test.details ?? '')) {
    const frame = firstProjectFrame(test.details!, workDir, exists, modules)
    const path = frame && toWorkspacePath(frame.file, workDir, workspace)
    return path ? { file: path, line: frame.line } : {}
  }
  const frames = locationsIn(test.details ?? '')
  const sameFile = test.file
    ? frames.find((f) => basename(f.file) === basename(test.file!))
    : frames[0]
  const file = sameFile?.file ?? test.file
  const line = sameFile?.line ?? test.line
  if (!file) return {}
  const path = toWorkspacePath(file, workDir, workspace)
  if (!path) return {}
  return line ? { file: path, line } : { file: path }
}
