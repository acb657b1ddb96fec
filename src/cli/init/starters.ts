import type { InitOptions } from './options.js'
import { renderDeploy, renderRollback } from './render.js'

/** The starter templates of workflow-templates/: one per platform, rendered like `init`'s output. */
export interface Starter {
  id: string
  title: string
  description: string
  options: InitOptions
}

const base: Pick<InitOptions, 'org' | 'service' | 'strategy' | 'build' | 'environments' | 'ref'> = {
  org: 'example-org',
  service: 'shop',
  strategy: 'bluegreen',
  build: 'docker',
  environments: ['production'],
  ref: 'v1'
}

export const STARTERS: Starter[] = [
  {
    id: 'haproxy-vm',
    title: 'HAProxy on VMs over SSH',
    description:
      'HAProxy runtime API over SSH (key and known_hosts as environment secrets), image on GHCR by GITHUB_TOKEN.',
    options: { ...base, router: 'haproxy', platform: 'vm-ssh', registry: 'ghcr' }
  },
  {
    id: 'nginx-vm',
    title: 'nginx on VMs over SSH',
    description:
      'nginx upstream file rewritten over SSH (nginx -t, graceful reload), image on GHCR by GITHUB_TOKEN.',
    options: { ...base, router: 'nginx', platform: 'vm-ssh', registry: 'ghcr' }
  },
  {
    id: 'kubernetes-eks',
    title: 'Kubernetes on EKS with OIDC',
    description:
      'Service selector switch on EKS, cluster and ECR credentials through OIDC (no stored AWS key).',
    options: { ...base, router: 'kubernetes', platform: 'eks', registry: 'ecr' }
  },
  {
    id: 'kubernetes-kubeconfig',
    title: 'Kubernetes with a kubeconfig secret',
    description:
      'Service selector switch on any cluster through a kubeconfig environment secret, image on GHCR.',
    options: { ...base, router: 'kubernetes', platform: 'kubeconfig', registry: 'ghcr' }
  }
]

const NOTE = [
  '# Starter template: run `ops-actions init` (docs/try-it.md) to get this file with your names,',
  '# the settings file .github/ops-actions/production.yml it reads, and the rollback workflow.'
]

/** The two templates (deploy, rollback) of one starter, with their properties files. */
export function starterFiles(s: Starter): { path: string; content: string }[] {
  const env = s.options.environments[0]
  const deploy = `${NOTE.join('\n')}\n${renderDeploy(s.options, env, true)}`
  const rollback = `${NOTE.join('\n')}\n${renderRollback(s.options, env)}`
  const properties = (name: string, description: string, icon: string): string =>
    `${JSON.stringify(
      {
        name,
        description,
        iconName: icon,
        categories: ['Deployment'],
        filePatterns: ['^\\.github/ops-actions/.*\\.yml$', '^Dockerfile$']
      },
      null,
      2
    )}\n`
  return [
    { path: `ops-${s.id}-deploy.yml`, content: deploy },
    {
      path: `ops-${s.id}-deploy.properties.json`,
      content: properties(
        `Deploy: ${s.title} (ops-actions)`,
        `On every push to the default branch: build, push and release with a blue-green switch. ${s.description}`,
        'octicon rocket'
      )
    },
    { path: `ops-${s.id}-rollback.yml`, content: rollback },
    {
      path: `ops-${s.id}-rollback.properties.json`,
      content: properties(
        `Roll back: ${s.title} (ops-actions)`,
        `By hand: all traffic back to the previous slot (or report the live slot), with the deploy's settings file. ${s.description}`,
        'octicon history'
      )
    }
  ]
}
