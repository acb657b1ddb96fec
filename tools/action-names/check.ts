/**
 * Which input, output and state names the code of an action reads or writes, found in its
 * source (the entry point and every module of src/ it imports, transitively), checked against
 * its action.yml: a mistyped input name would otherwise read '' quietly and fall back to a
 * default. Static, so it sees names written as literals only:
 * - inputs: `inputs.<getter>('name'` (also `io.inputs.…`) and helpers called `(inputs, 'name'`;
 * - outputs: `setOutput('name'` and the keys of an object literal looped into `setOutput`;
 * - state: `saveState`/`getState` with a literal or a constant defined in the same file.
 * Names built at run time (from a variable) are not seen; they are listed apart as unchecked.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import type { ActionYml } from '../../src/core/action-yml.js'

export interface Use {
  name: string
  /** `file:line` where the code uses it. */
  at: string
}

export interface NamesUsed {
  inputs: Use[]
  outputs: Use[]
  stateRead: Use[]
  stateWritten: Use[]
}

const GETTERS =
  'raw|has|required|optional|enum|optionalEnum|duration|optionalDuration|percent|boolean|integer|list|lines|url|optionalUrl|command|optionalCommand'
const NAME = `['"\`]([a-z][a-z0-9-]*)['"\`]`
const INPUT_CALL = new RegExp(`\\binputs\\s*\\.\\s*(?:${GETTERS})\\(\\s*${NAME}`, 'g')
const INPUT_HELPER = new RegExp(`\\(\\s*(?:io\\.)?inputs\\s*,\\s*${NAME}`, 'g')
const OUTPUT_CALL = new RegExp(`\\bsetOutput\\(\\s*${NAME}`, 'g')
const OUTPUT_LOOP = /Object\.entries\(\{([\s\S]*?)\}\)\)\s*\{?\s*io\.setOutput\(/g
const STATE_CALL = /\b(saveState|getState)\(\s*(?:['"`]([A-Za-z][\w-]*)['"`]|([A-Za-z_][\w.[\]]*))/g

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

/** The names used in the given files; `root` only shortens the `at` paths. */
export function namesUsed(files: string[], root = process.cwd()): NamesUsed {
  const used: NamesUsed = { inputs: [], outputs: [], stateRead: [], stateWritten: [] }
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const at = (i: number): string => `${relative(root, file)}:${lineOf(text, i)}`
    for (const re of [INPUT_CALL, INPUT_HELPER])
      for (const m of text.matchAll(re)) used.inputs.push({ name: m[1], at: at(m.index) })
    for (const m of text.matchAll(OUTPUT_CALL)) used.outputs.push({ name: m[1], at: at(m.index) })
    for (const m of text.matchAll(OUTPUT_LOOP)) {
      for (const key of m[1].matchAll(
        /(?:^|,)\s*(?:['"]([a-z][a-z0-9-]*)['"]|([a-z][a-z0-9]*))\s*(?=[:,}\n]|$)/g
      ))
        used.outputs.push({ name: key[1] ?? key[2], at: at(m.index) })
    }
    const known = constants(text)
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
  for (const u of used.inputs)
    if (!(u.name in spec.inputs))
      problems.push(`${u.at}: reads input \`${u.name}\`, which action.yml does not declare`)
  for (const u of used.outputs)
    if (!(u.name in spec.outputs))
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
