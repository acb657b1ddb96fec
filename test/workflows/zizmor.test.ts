/**
 * zizmor (PyPI, installed by scripts/setup.sh) over every workflow and starter template: no
 * finding, and each finding we keep is ignored in a comment that says why, next to it. A bad
 * sample proves zizmor runs and reports (a missing zizmor fails here, never skips).
 */
import { describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const root = new URL('../..', import.meta.url).pathname
export const ZIZMOR_VERSION = '1.32.0'

async function zizmor(...paths: string[]): Promise<{ ident: string }[]> {
  const run = promisify(execFile)
  const { stdout } = await run('zizmor', ['--offline', '--format', 'json', ...paths], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024
  }).catch((e: { stdout?: string; code?: number | string }) => {
    if (e.code === 'ENOENT') throw new Error('zizmor is not installed: run bash scripts/setup.sh')
    return { stdout: e.stdout ?? '' }
  })
  return JSON.parse(stdout) as { ident: string }[]
}

describe('zizmor', () => {
  it(`is the pinned ${ZIZMOR_VERSION}`, async () => {
    const { stdout } = await promisify(execFile)('zizmor', ['--version'])
    expect(stdout.trim()).toBe(`zizmor ${ZIZMOR_VERSION}`)
  })

  it('finds nothing in the workflows', async () => {
    expect(await zizmor('.github/workflows')).toEqual([])
  })

  // A directory argument is collected as a repository (its .github/workflows/ only): given
  // `workflow-templates`, zizmor audited nothing there. Each template is passed as a file.
  it('finds nothing in the starter templates', async () => {
    const templates = readdirSync(join(root, 'workflow-templates'))
      .filter((f) => f.endsWith('.yml'))
      .map((f) => join('workflow-templates', f))
    expect(templates.length).toBeGreaterThan(5)
    const findings = await zizmor(...templates)
    type Located = { locations?: { symbolic?: { key?: { Local?: { verbatim_path?: string } } } }[] }
    const where = (f: { ident: string } & Located) =>
      `${f.ident} ${f.locations?.[0]?.symbolic?.key?.Local?.verbatim_path ?? '?'}`
    expect(findings.map(where)).toEqual([])
  })

  it('every kept finding is justified next to it', () => {
    const files = ['.github/workflows', 'workflow-templates'].flatMap((d) =>
      readdirSync(join(root, d))
        .filter((f) => f.endsWith('.yml'))
        .map((f) => join(root, d, f))
    )
    const ignores = files.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l.includes('zizmor: ignore['))
        .map((l) => ({ f, why: l.split(/zizmor: ignore\[[\w-]+\]/)[1]?.trim() ?? '' }))
    )
    expect(ignores.length).toBeGreaterThan(0)
    for (const { why } of ignores) expect(why.length).toBeGreaterThan(15)
  })

  it('reports a bad sample', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-zizmor-'))
    mkdirSync(join(dir, '.github', 'workflows'), { recursive: true })
    writeFileSync(
      join(dir, '.github', 'workflows', 'bad.yml'),
      'on: issues\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "${{ github.event.issue.title }}"\n'
    )
    const idents = (await zizmor(join(dir, '.github', 'workflows'))).map((f) => f.ident)
    expect(idents).toContain('template-injection')
  })
})
