/** A YAML document with positions, and the few accessors the checks need. */
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml'
import type { Document, Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml'
import type { Finding } from './finding.js'

export interface YamlFile {
  file: string
  doc: Document
  /** A finding located at `node` (or at the top of the file when the node is missing). */
  at(node: unknown, rule: string, message: string): Finding
}

export function loadYaml(file: string, source: string): YamlFile {
  const lineCounter = new LineCounter()
  // merge: GitHub accepts YAML anchors and `<<` merge keys.
  const doc = parseDocument(source, { lineCounter, merge: true })
  return {
    file,
    doc,
    at(node, rule, message) {
      const offset = (node as Node | undefined)?.range?.[0] ?? 0
      const { line, col } = lineCounter.linePos(offset)
      return { file, line, column: col, rule, message }
    }
  }
}

/** YAML syntax errors: the other checks see nothing of a document that does not parse. */
export function syntaxFindings(y: YamlFile): Finding[] {
  return y.doc.errors.map((e) => {
    const [line, col] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : [1, 1]
    return { file: y.file, line, column: col, rule: 'yaml', message: e.message.split('\n')[0] }
  })
}

export function asMap(node: unknown): YAMLMap | undefined {
  return isMap(node) ? node : undefined
}

export function asSeq(node: unknown): YAMLSeq | undefined {
  return isSeq(node) ? node : undefined
}

/** The value node under `key`, or undefined. */
export function child(node: unknown, key: string): Node | undefined {
  const map = asMap(node)
  return map ? (map.get(key, true) as Node | undefined) : undefined
}

/** The key/value pairs of a map, keys as strings. */
export function entries(node: unknown): Array<[string, Node | undefined, Pair]> {
  const map = asMap(node)
  if (!map) return []
  return map.items.map((pair) => [
    String(isScalar(pair.key) ? pair.key.value : pair.key),
    pair.value as Node | undefined,
    pair
  ])
}

/** A scalar's value as a string (numbers and booleans too), else undefined. */
export function text(node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null || node.value === undefined) return undefined
  return String((node as Scalar).value)
}
