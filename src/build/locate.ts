import { basename, isAbsolute, relative, resolve } from 'node:path'
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

/**
 * Where a failed test failed, for the annotation: the report's file/line attributes when it has
 * them, refined by the first frame of the failure text that points into that file (or, when the
 * report names no file, into the user's code rather than a library).
 */
export function locateFailure(test: TestCase, workDir: string, workspace: string): SourceLocation {
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
