import { ToolError } from '../core/errors.js'
import { parseXml } from './xml.js'

export type TestStatus = 'passed' | 'failed' | 'error' | 'skipped'

export interface TestCase {
  suite: string
  classname: string
  name: string
  status: TestStatus
  timeSeconds: number
  /** The failure or error message attribute, else the first line of its text. */
  message?: string
  /** The failure body: assertion output and stack trace. */
  details?: string
  file?: string
  line?: number
  /** Passed on a retry after failing (Surefire/Gradle `flakyFailure`/`flakyError`): counted apart. */
  flaky?: boolean
}

type XmlNode = Record<string, unknown>

function asNode(value: unknown): XmlNode {
  // `<skipped/>` parses as '' and `<failure>text</failure>` as a string: normalise both.
  if (value !== null && typeof value === 'object') return value as XmlNode
  return typeof value === 'string' && value !== '' ? { '#text': value } : {}
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function firstOf(node: XmlNode, names: string[]): { kind: string; node: XmlNode } | undefined {
  for (const kind of names) {
    const found = node[kind]
    if (Array.isArray(found) && found.length > 0) return { kind, node: asNode(found[0]) }
  }
  return undefined
}

function toCase(raw: XmlNode, suite: string): TestCase {
  const outcome = firstOf(raw, ['failure', 'error', 'skipped'])
  const status: TestStatus =
    outcome?.kind === 'failure'
      ? 'failed'
      : outcome?.kind === 'error'
        ? 'error'
        : outcome
          ? 'skipped'
          : 'passed'
  const details = outcome ? text(outcome.node['#text'])?.trim() : undefined
  const message = outcome ? (text(outcome.node.message) ?? details?.split('\n')[0]) : undefined
  const line = Number(raw.line)
  const flaky = status === 'passed' && firstOf(raw, ['flakyFailure', 'flakyError']) !== undefined
  return {
    suite,
    classname: text(raw.classname)?.trim() ?? '',
    name: text(raw.name)?.trim() || '(unnamed test)',
    status,
    timeSeconds: Number(raw.time) || 0,
    ...(message !== undefined && { message }),
    ...(details !== undefined && { details }),
    ...(text(raw.file) !== undefined && { file: text(raw.file) }),
    ...(Number.isInteger(line) && line > 0 && { line }),
    ...(flaky && { flaky })
  }
}

const failingElements = (raw: XmlNode): number =>
  ['failure', 'error'].reduce((n, k) => n + (Array.isArray(raw[k]) ? raw[k].length : 0), 0)

/**
 * Collects test cases from a suite and from suites nested in it (some tools nest them), and
 * returns how many failure/error elements its subtree holds. A failure outside any test case
 * is an error of its own: `<error>` directly under `<testsuite>` (Ant's formatter and Jenkins'
 * reading of it: a setup that failed before any test ran), and failures or errors a suite
 * declares in its attributes but holds no element for (a report whose failing cases were left
 * out). Neither may read as "no test failed".
 */
function collectSuite(suite: XmlNode, out: TestCase[], file: string): number {
  // jest-junit names a suite "undefined" when the test file has no describe() block
  const name = text(suite.name) === 'undefined' ? '' : (text(suite.name) ?? '')
  const label = name || file
  let failing = 0
  for (const raw of (suite.testcase as unknown[] | undefined) ?? []) {
    const node = asNode(raw)
    out.push(toCase(node, name))
    failing += failingElements(node)
  }
  for (const child of (suite.testsuite as unknown[] | undefined) ?? [])
    failing += collectSuite(asNode(child), out, file)
  for (const kind of ['failure', 'error'] as const)
    for (const raw of (suite[kind] as unknown[] | undefined) ?? []) {
      const node = asNode(raw)
      const details = text(node['#text'])?.trim()
      const message = text(node.message) ?? details?.split('\n')[0]
      out.push({
        suite: name,
        classname: '',
        name: `(suite ${label}: ${kind} outside any test case)`,
        status: kind === 'failure' ? 'failed' : 'error',
        timeSeconds: 0,
        ...(message !== undefined && { message }),
        ...(details !== undefined && { details })
      })
      failing++
    }
  const declared = (Number(suite.failures) || 0) + (Number(suite.errors) || 0)
  if (declared > failing) {
    const missing = declared - failing
    out.push({
      suite: name,
      classname: '',
      name: `(suite ${label}: ${missing} failure(s)/error(s) declared but not in the report)`,
      status: 'error',
      timeSeconds: 0,
      message: `suite ${label} declares failures="${String(suite.failures ?? 0)}" errors="${String(suite.errors ?? 0)}" but holds ${failing} failing element(s)`
    })
    failing = declared
  }
  return failing
}

/**
 * Reads one JUnit XML report in the shapes real tools write: `<testsuites>` around
 * `<testsuite>`s (jest-junit, pytest, go-junit-report), a bare `<testsuite>` (Maven Surefire,
 * Gradle), and suites nested in suites. A document of any other shape is an error.
 */
export function parseJUnit(xml: string, file: string): TestCase[] {
  const doc = parseXml(xml, file, [
    'testsuite',
    'testcase',
    'failure',
    'error',
    'skipped',
    'flakyFailure',
    'flakyError'
  ])
  const cases: TestCase[] = []
  if ('testsuites' in doc) {
    collectSuite(asNode(doc.testsuites), cases, file)
  } else if (Array.isArray(doc.testsuite)) {
    for (const suite of doc.testsuite) collectSuite(asNode(suite), cases, file)
  } else {
    const root = Object.keys(doc)[0] ?? '(none)'
    throw new ToolError(
      `report ${file} is not JUnit XML: root element is <${root}>, expected <testsuites> or <testsuite>`
    )
  }
  return cases
}

export interface TestTotals {
  tests: number
  passed: number
  failed: number
  errors: number
  skipped: number
  /** Passed, but only on a retry: part of `passed`, shown apart. */
  flaky: number
}

export function countTests(cases: TestCase[]): TestTotals {
  const count = (s: TestStatus): number => cases.filter((c) => c.status === s).length
  return {
    tests: cases.length,
    passed: count('passed'),
    failed: count('failed'),
    errors: count('error'),
    skipped: count('skipped'),
    flaky: cases.filter((c) => c.flaky).length
  }
}
