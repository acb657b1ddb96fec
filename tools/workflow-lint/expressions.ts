/** `${{ }}` expressions in code, and which of them nobody outside the workflow can influence. */

const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g

// Values fixed by GitHub or by the workflow's own definition; everything else (inputs, env,
// step outputs, event payload, vars, secrets) goes through `env:` and is quoted in the script.
const SAFE = [
  /^github\.(run_id|run_number|run_attempt|sha|repository_id|event_name|job|workflow_sha|action_path)$/,
  /^runner\.(os|arch|temp)$/,
  /^matrix\.[\w-]+$/,
  /^strategy\.[\w-]+$/,
  /^steps\.[\w-]+\.(outcome|conclusion)$/,
  /^needs\.[\w-]+\.result$/
]

export function expressionsIn(code: string): string[] {
  return [...code.matchAll(EXPRESSION)].map((m) => m[1].trim())
}

export function isSafeInCode(expression: string): boolean {
  return SAFE.some((re) => re.test(expression))
}

/** The unsafe expressions in a piece of code, in order. */
export function unsafeExpressions(code: string): string[] {
  return expressionsIn(code).filter((e) => !isSafeInCode(e))
}
