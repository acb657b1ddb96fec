/** Runs every check over a repository's workflows, starter templates and action.yml files. */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkAction } from './action-rules.js'
import { lintWithActionlint } from './actionlint.js'
import type { Finding } from './finding.js'
import { parseWithGitHub } from './github-parser.js'
import { checkCalls, type RepoLookup } from './interfaces.js'
import { checkDefaultBranch, checkProperties, type TemplateProperties } from './templates.js'
import { checkWorkflow } from './workflow-rules.js'
import { loadYaml, syntaxFindings } from './yaml-doc.js'

export interface RepoFiles {
  workflows: string[]
  templates: string[]
  actions: string[]
}

export interface RepoReport {
  files: RepoFiles
  findings: Finding[]
  checkedCalls: string[]
  skippedCalls: string[]
}

function yamlIn(root: string, dir: string): string[] {
  const abs = join(root, dir)
  if (!existsSync(abs)) return []
  return readdirSync(abs)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => `${dir}/${f}`)
}

export function listRepoFiles(root: string): RepoFiles {
  const actionsDir = join(root, 'actions')
  const actions = existsSync(actionsDir)
    ? readdirSync(actionsDir)
        .sort()
        .map((name) => `actions/${name}/action.yml`)
        .filter((f) => existsSync(join(root, f)))
    : []
  return {
    workflows: yamlIn(root, '.github/workflows'),
    templates: yamlIn(root, 'workflow-templates'),
    actions
  }
}

export function repoLookup(root: string): RepoLookup {
  const read = (rel: string) =>
    existsSync(join(root, rel)) ? readFileSync(join(root, rel), 'utf8') : undefined
  return {
    actionYml: (name) => read(`actions/${name}/action.yml`),
    workflow: (file) => read(`.github/workflows/${file}`)
  }
}

function readProperties(root: string, template: string): TemplateProperties | undefined {
  const path = join(root, template.replace(/\.ya?ml$/, '.properties.json'))
  return existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as TemplateProperties)
    : undefined
}

export async function lintRepo(root: string): Promise<RepoReport> {
  const files = listRepoFiles(root)
  const repo = repoLookup(root)
  const report: RepoReport = { files, findings: [], checkedCalls: [], skippedCalls: [] }
  const add = (found: Finding[]) => report.findings.push(...found)
  for (const file of [...files.workflows, ...files.templates]) {
    const source = readFileSync(join(root, file), 'utf8')
    const y = loadYaml(file, source)
    add(syntaxFindings(y))
    add(checkWorkflow(y))
    const calls = checkCalls(y, repo, loadYaml)
    add(calls.findings)
    report.checkedCalls.push(...calls.checked)
    report.skippedCalls.push(...calls.skipped)
    add(await parseWithGitHub(file, source, repo))
    add(await lintWithActionlint(file, source))
    if (files.templates.includes(file)) {
      add(checkDefaultBranch(y))
      add(
        checkProperties(
          file.replace(/\.ya?ml$/, '.properties.json'),
          readProperties(root, file),
          (icon) => existsSync(join(root, 'workflow-templates', `${icon}.svg`))
        )
      )
    }
  }
  for (const file of files.actions) {
    const source = readFileSync(join(root, file), 'utf8')
    const y = loadYaml(file, source)
    add(syntaxFindings(y))
    add(checkAction(y))
    add(await parseWithGitHub(file, source, repo))
  }
  return report
}
