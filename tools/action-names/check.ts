/**
 * Which input, output and state names the code of an action reads or writes, found in its
 * source (the entry point and every module of src/ it imports, transitively), checked against
 * its action.yml: a mistyped input name would otherwise read '' quietly and fall back to a
 * default. Static; a name argument is followed to where it is written:
 * - inputs: `inputs.<getter>(…)` (also `io.inputs.…`); outputs: `setOutput(…)` and the keys of an
 *   object literal looped into `setOutput`; state: `saveState`/`getState`;
 * - a literal or a constant of the file is the name; a template (`health-url-${slot}`) must
 *   match a declared name; a parameter of the enclosing function is followed to each call of
 *   that function (`credentials(inputs, 'username', 'password')`, a closure `metric('x')`).
 * - a loop variable over an array of literals (`for (const n of ['a', 'b'])`) takes each;
 * what is computed at run time otherwise is listed apart as unchecked.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import type { ActionYml } from '../../src/core/action-yml.js'

export interface Use {
  name: string
  /** `file:line` where the code uses it. */
  at: string
  /** A template (`health-url-${slot}`): some declared name must match it. */
  pattern?: RegExp
}

export interface NamesUsed {
  inputs: Use[]
  outputs: Use[]
  stateRead: Use[]
  stateWritten: Use[]
  /** Names computed at run time (a loop variable, a call's result): `name` is the expression. */
  unchecked: Use[]
}

const GETTERS =
  'raw|has|required|optional|enum|optionalEnum|duration|optionalDuration|percent|boolean|integer|list|lines|url|optionalUrl|command|optionalCommand'
const NAME = `['"\`]([a-z][a-z0-9-]*)['"\`]`
const INPUT_HELPER = new RegExp(`\\(\\s*(?:io\\.)?inputs\\s*,\\s*${NAME}`, 'g')
const INPUT_SINK = new RegExp(`\\binputs\\s*\\.\\s*(?:${GETTERS})\\s*\\(`, 'g')
const OUTPUT_SINK = /\bsetOutput\s*\(/g
const OUTPUT_LOOP = /Object\.entries\(\{([\s\S]*?)\}\)\)\s*\{?\s*io\.setOutput\(/g
const STATE_CALL = /\b(saveState|getState)\(\s*(?:['"`]([A-Za-z][\w-]*)['"`]|([A-Za-z_][\w.[\]]*))/g
const FUNCTION_DEF =
  /\bfunction\s+([A-Za-z_]\w*)\s*(?:<[^>(]*>)?\s*\(|\b(?:const|let)\s+([A-Za-z_]\w*)\s*=\s*(?:async\s*)?\(/g

/** The files of src/ an entry point imports, transitively (relative imports only). */
export function sourceFilesOf(entry: string): string[] {
  const seen = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/\bfrom\s+['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      const target = resolve(dirname(file), `${m[1]}.ts`)
      if (existsSync(target)) visit(target)
    }
  }
  visit(resolve(entry))
  return [...seen].sort()
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length
}

/** String constants of a file (`const X = 'a'`, `const S = { k: 'a' }`), for state names. */
function constants(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const m of text.matchAll(/\bconst\s+([A-Za-z_]\w*)\s*=\s*['"`]([^'"`]+)['"`]/g))
    out.set(m[1], m[2])
  for (const m of text.matchAll(/\bconst\s+([A-Za-z_]\w*)\s*=\s*\{([^}]*)\}/g)) {
    for (const p of m[2].matchAll(/([A-Za-z_]\w*)\s*:\s*['"`]([^'"`]+)['"`]/g))
      out.set(`${m[1]}.${p[1]}`, p[2])
  }
  return out
}

/** The arguments of the call whose `(` is at `open`, as source text, and where the call ends. */
function callArgs(text: string, open: number): { args: string[]; end: number } {
  const args: string[] = []
  let depth = 0
  let from = open + 1
  for (let i = open; i < text.length; i++) {
    const c = text[i]
    if (c === "'" || c === '"' || c === '`') {
      // Skip the literal; a template's `${…}` is kept opaque (its braces are inside the literal).
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++
    } else if (c === '(' || c === '[' || c === '{') depth++
    else if (c === ')' || c === ']' || c === '}') {
      depth--
      if (depth === 0) {
        const last = text.slice(from, i).trim()
        if (last) args.push(last)
        return { args, end: i }
      }
    } else if (c === ',' && depth === 1) {
      args.push(text.slice(from, i).trim())
      from = i + 1
    }
  }
  return { args, end: text.length }
}

type Named = { name: string; pattern?: RegExp } | { dynamic: string }

/** A name argument: a literal, a template (a pattern), a constant of the file, or dynamic. */
function nameOf(arg: string, known: Map<string, string>): Named {
  const literal = /^(['"`])([a-z][a-z0-9-]*)\1$/.exec(arg)
  if (literal) return { name: literal[2] }
  const template = /^`([^`]*)`$/.exec(arg)
  if (template && template[1].includes('${')) {
    const parts = template[1].split(/\$\{[^}]*\}/)
    const escaped = parts.map((p) => p.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
    return { name: template[1], pattern: new RegExp(`^${escaped.join('[a-z0-9-]+')}$`) }
  }
  const ref = arg.replace(/\[['"]?([\w-]+)['"]?\]$/, '.$1')
  const constant = known.get(ref)
  if (constant !== undefined) return nameOf(`\`${constant}\``, new Map())
  return { dynamic: arg }
}

/**
 * The names a loop variable takes just before `index`: `for (const v of ['a', 'b'])`, `of LIST`
 * (a constant array of the file) or `['a', 'b'].filter((v) => …)`; undefined if not all literals.
 */
function loopNames(text: string, index: number, variable: string): string[] | undefined {
  if (!/^[A-Za-z_]\w*$/.test(variable)) return undefined
  const before = text.slice(Math.max(0, index - 400), index)
  const forOf = new RegExp(
    `for\\s*\\(\\s*const\\s+${variable}\\s+of\\s+(\\[[^\\]]*\\]|[A-Za-z_]\\w*)`,
    'g'
  )
  const method = new RegExp(
    `(\\[[^\\]]*\\])\\s*\\.(?:filter|map|forEach|some|every|flatMap)\\(\\s*\\(?\\s*${variable}\\s*\\)?\\s*=>`,
    'g'
  )
  const last = [...before.matchAll(forOf), ...before.matchAll(method)].sort(
    (a, b) => b.index - a.index
  )[0]
  if (!last) return undefined
  let list = last[1]
  if (!list.startsWith('[')) {
    const def = new RegExp(`\\bconst\\s+${list}\\s*=\\s*(\\[[^\\]]*\\])`).exec(text)
    if (!def) return undefined
    list = def[1]
  }
  const items = list
    .slice(1, -1)
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
  if (!items.length || !items.every((x) => /^(['"`])[a-z][a-z0-9-]*\1$/.test(x))) return undefined
  return items.map((x) => x.slice(1, -1))
}

interface FunctionDef {
  name: string
  params: string[]
  start: number
  end: number
}

/**
 * Named functions and arrow functions of a file with their parameters and the extent of their
 * body: up to the first later line indented no deeper than the definition (its closing brace).
 */
function functionDefs(text: string): FunctionDef[] {
  const defs: FunctionDef[] = []
  for (const m of text.matchAll(FUNCTION_DEF)) {
    const open = m.index + m[0].length - 1
    const { args, end } = callArgs(text, open)
    if (m[2] && !/^\s*(?::[^=;]*?)?=>/.test(text.slice(end + 1))) continue
    const params = args.map((a) => /^\s*(?:\.\.\.)?([A-Za-z_]\w*)/.exec(a)?.[1] ?? '')
    const lineStart = text.lastIndexOf('\n', m.index) + 1
    const indent = /^\s*/.exec(text.slice(lineStart))?.[0].length ?? 0
    let bodyEnd = text.length
    const lines = text.slice(end).split('\n')
    let offset = end + lines[0].length + 1
    for (const line of lines.slice(1)) {
      if (line.trim() && (/^\s*/.exec(line)?.[0].length ?? 0) <= indent) {
        bodyEnd = offset + line.length
        break
      }
      offset += line.length + 1
    }
    defs.push({ name: m[1] ?? m[2], params, start: m.index, end: bodyEnd })
  }
  return defs
}

interface Source {
  file: string
  text: string
  known: Map<string, string>
  defs: FunctionDef[]
  at: (i: number) => string
}

/**
 * Where a name argument comes from: a literal, a template or a constant is used as it is; a
 * parameter of the enclosing function is followed to that function's callers (helpers such as
 * `credentials(inputs, 'username', 'password')` or a closure `metric('requests-metric')`);
 * anything else is unchecked.
 */
function resolveName(
  sources: Source[],
  src: Source,
  index: number,
  arg: string,
  depth: number,
  found: (u: Use) => void,
  unchecked: (u: Use) => void
): void {
  // A parameter of the enclosing function shadows a constant of the same name.
  const enclosing = src.defs
    .filter((d) => d.start < index && index < d.end && d.params.includes(arg))
    .sort((a, b) => b.start - a.start)[0]
  const named = enclosing ? { dynamic: arg } : nameOf(arg, src.known)
  if (!('dynamic' in named)) {
    found({ name: named.name, at: src.at(index), pattern: named.pattern })
    return
  }
  if (!enclosing || depth > 4) {
    const listed = enclosing ? undefined : loopNames(src.text, index, arg)
    if (listed) for (const name of listed) found({ name, at: src.at(index) })
    else unchecked({ name: named.dynamic, at: src.at(index) })
    return
  }
  const position = enclosing.params.indexOf(arg)
  const call = new RegExp(`(?<![\\w.])${enclosing.name}\\s*\\(`, 'g')
  for (const caller of sources)
    for (const m of caller.text.matchAll(call)) {
      if (caller === src && m.index >= enclosing.start && m.index < enclosing.start + 40) continue
      if (/\bfunction\s*$/.test(caller.text.slice(Math.max(0, m.index - 12), m.index))) continue
      const { args } = callArgs(caller.text, m.index + m[0].length - 1)
      const given = args[position]
      if (given !== undefined)
        resolveName(sources, caller, m.index, given, depth + 1, found, unchecked)
    }
}

/** The names used in the given files; `root` only shortens the `at` paths. */
export function namesUsed(files: string[], root = process.cwd()): NamesUsed {
  const used: NamesUsed = {
    inputs: [],
    outputs: [],
    stateRead: [],
    stateWritten: [],
    unchecked: []
  }
  const sources: Source[] = files.map((file) => {
    const text = readFileSync(file, 'utf8')
    return {
      file,
      text,
      known: constants(text),
      defs: functionDefs(text),
      at: (i: number): string => `${relative(root, file)}:${lineOf(text, i)}`
    }
  })
  // core/ forwards names it is given (ActionIO, Inputs): what reaches it is checked at the caller.
  const plumbing = (src: Source): boolean => /\/src\/core\//.test(src.file)
  const unchecked = (u: Use): void => void used.unchecked.push(u)
  for (const src of sources) {
    const { text, at, known } = src
    for (const m of text.matchAll(INPUT_HELPER)) used.inputs.push({ name: m[1], at: at(m.index) })
    const loops = new Set<number>()
    for (const m of text.matchAll(OUTPUT_LOOP)) {
      loops.add(m.index + m[0].length - 1)
      for (const key of m[1].matchAll(
        /(?:^|,)\s*(?:['"]([a-z][a-z0-9-]*)['"]|([a-z][a-z0-9]*))\s*(?=[:,}\n]|$)/g
      ))
        used.outputs.push({ name: key[1] ?? key[2], at: at(m.index) })
    }
    if (!plumbing(src)) {
      for (const [sink, list] of [
        [INPUT_SINK, used.inputs],
        [OUTPUT_SINK, used.outputs]
      ] as const)
        for (const m of text.matchAll(sink)) {
          const open = m.index + m[0].length - 1
          if (loops.has(open)) continue
          const first = callArgs(text, open).args[0]
          // `setOutput(name: string, …)`: a declaration (an interface), not a call.
          if (first === undefined || /^[A-Za-z_]\w*\??\s*:/.test(first)) continue
          resolveName(sources, src, m.index, first, 0, (u) => list.push(u), unchecked)
        }
    }
    for (const m of text.matchAll(STATE_CALL)) {
      const ref = m[3]?.replace(/\[(\w+)\]$/, '.$1')
      const name = m[2] ?? (ref ? known.get(ref) : undefined)
      // STATE[kind]: every value of that constant object may be written.
      const names =
        name !== undefined
          ? [name]
          : [...known]
              .filter(([k]) => ref && k.startsWith(`${ref.split('.')[0]}.`))
              .map(([, v]) => v)
      const list = m[1] === 'saveState' ? used.stateWritten : used.stateRead
      for (const n of names) list.push({ name: n, at: at(m.index) })
    }
  }
  return used
}

/** Problems: a name the code uses that the action does not declare (or no step writes). */
export function checkNames(spec: Pick<ActionYml, 'inputs' | 'outputs'>, used: NamesUsed): string[] {
  const problems: string[] = []
  const declared = (u: Use, names: object): boolean =>
    u.pattern ? Object.keys(names).some((n) => u.pattern?.test(n)) : u.name in names
  for (const u of used.inputs)
    if (!declared(u, spec.inputs))
      problems.push(`${u.at}: reads input \`${u.name}\`, which action.yml does not declare`)
  for (const u of used.outputs)
    if (!declared(u, spec.outputs))
      problems.push(`${u.at}: sets output \`${u.name}\`, which action.yml does not declare`)
  // `isPost` is written by core/action.ts for every bundle.
  const written = new Set(['isPost', ...used.stateWritten.map((u) => u.name)])
  for (const u of used.stateRead)
    if (!written.has(u.name))
      problems.push(`${u.at}: reads state \`${u.name}\`, which no step of the action saves`)
  return [...new Set(problems)]
}

/** The check of one action of this repository: actions/<name>/action.yml vs its source. */
export function checkActionNames(root: string, name: string, spec: ActionYml): string[] {
  const files = sourceFilesOf(join(root, 'src', 'actions', name, 'index.ts'))
  return checkNames(spec, namesUsed(files, root))
}
