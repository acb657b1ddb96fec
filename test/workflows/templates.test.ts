import { describe, expect, it } from '@jest/globals'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { STARTERS, starterFiles } from '../../src/cli/init/starters.js'
import {
  checkDefaultBranch,
  checkProperties,
  type TemplateProperties
} from '../../tools/workflow-lint/templates.js'
import { loadYaml } from '../../tools/workflow-lint/yaml-doc.js'

const GOOD: TemplateProperties = {
  name: 'Deploy',
  description: 'Deploys',
  iconName: 'octicon rocket',
  categories: ['Deployment'],
  filePatterns: ['^Dockerfile$']
}

const messages = (p: TemplateProperties | undefined, icons: string[] = []) =>
  checkProperties('t.properties.json', p, (icon) => icons.includes(icon)).map((f) => f.message)

describe('template properties', () => {
  it('accepts complete metadata, with an octicon or an SVG next to the template', () => {
    expect(messages(GOOD)).toEqual([])
    expect(messages({ ...GOOD, iconName: 'deploy' }, ['deploy'])).toEqual([])
    expect(messages({ ...GOOD, iconName: undefined })).toEqual([])
  })

  it.each([
    ['a missing file', undefined, 'missing: each template needs NAME.properties.json next to it'],
    ['no name', { ...GOOD, name: '' }, '`name` is required (a non-empty string)'],
    [
      'no description',
      { ...GOOD, description: undefined },
      '`description` is required (a non-empty string)'
    ],
    [
      'an icon that does not exist',
      { ...GOOD, iconName: 'rocket' },
      'iconName `rocket`: expected `octicon <name>` or an SVG in workflow-templates/'
    ],
    [
      'categories not a list',
      { ...GOOD, categories: 'Deployment' },
      '`categories` must be an array of strings'
    ],
    [
      'no filePatterns',
      { ...GOOD, filePatterns: undefined },
      '`filePatterns` is expected (an array of strings)'
    ],
    [
      'a broken regex',
      { ...GOOD, filePatterns: ['(Dockerfile'] },
      'filePatterns: `(Dockerfile` is not a valid regular expression'
    ]
  ])('reports %s', (_what, properties, message) => {
    expect(messages(properties as TemplateProperties | undefined)).toEqual([message])
  })
})

describe('default branch in templates', () => {
  it('accepts $default-branch and other branches', () => {
    const y = loadYaml('t.yml', 'on:\n  push:\n    branches: [$default-branch, develop]\n')
    expect(checkDefaultBranch(y)).toEqual([])
  })

  it('reports a hard-coded main', () => {
    const y = loadYaml('t.yml', 'on:\n  push:\n    branches: [main]\n')
    expect(checkDefaultBranch(y).map((f) => [f.rule, f.line])).toEqual([['default-branch', 3]])
  })
})

describe('per-platform starter templates (rendered like ops-actions init)', () => {
  const root = new URL('../..', import.meta.url).pathname
  it.each(STARTERS.map((s) => [s.id, s]))(
    '%s: deploy and rollback templates are the renderer output (npx tsx scripts/init-templates.ts)',
    (_id, starter) => {
      for (const file of starterFiles(starter as (typeof STARTERS)[number])) {
        const path = join(root, 'workflow-templates', file.path)
        expect(existsSync(path)).toBe(true)
        expect(readFileSync(path, 'utf8')).toBe(file.content)
      }
    }
  )

  it('cover HAProxy and nginx on VMs, EKS with OIDC and a kubeconfig secret', () => {
    expect(STARTERS.map((s) => `${s.options.router}/${s.options.platform}`)).toEqual([
      'haproxy/vm-ssh',
      'nginx/vm-ssh',
      'kubernetes/eks',
      'kubernetes/kubeconfig'
    ])
    for (const s of STARTERS) {
      const [deploy] = starterFiles(s)
      // SHA-pinned third-party actions, secrets by name, nothing untrusted in run:
      for (const uses of deploy.content.matchAll(/uses: (\S+)/g)) {
        if (!uses[1].startsWith('example-org/')) expect(uses[1]).toMatch(/@[0-9a-f]{40}$/)
      }
      expect(deploy.content).not.toMatch(/run: .*\$\{\{/)
    }
  })
})
