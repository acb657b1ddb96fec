import { PLACEHOLDER } from '../../settings/keys.js'
import type { InitOptions } from './options.js'

/** A file `ops-actions init` writes, relative to the repository root. */
export interface InitFile {
  path: string
  content: string
  /** Executable (the deploy-slot stub). */
  mode?: number
}

// Every value a user must replace contains PLACEHOLDER; the settings file refuses it at run time.
export { PLACEHOLDER }

// Third-party actions pinned by full commit SHA (the same pins as this repository's workflows).
const CHECKOUT = 'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2'
const AWS_CREDENTIALS =
  'aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502 # v4.0.2'
const FIRST_PARTY_NOTE =
  'zizmor: ignore[unpinned-uses] first party, the ops-actions release this repository adopted (docs/workflows.md, Pinning)'

const isVm = (o: InitOptions): boolean => o.router !== 'kubernetes'
const settingsPath = (env: string): string => `.github/ops-actions/${env}.yml`

function uses(o: InitOptions, action: string): string {
  return `${o.org}/ops-actions/actions/${action}@${o.ref} # ${FIRST_PARTY_NOTE}`
}

/** The image name: the registry decides the host. */
export function imageName(o: InitOptions): string {
  if (o.registry === 'ghcr') return `ghcr.io/${o.org.toLowerCase()}/${o.service}`
  if (o.registry === 'ecr') return `\${{ vars.ECR_REGISTRY }}/${o.service}`
  return `\${{ vars.REGISTRY }}/${o.service}`
}

/** Where the release job runs: next to the router (self-hosted), or a hosted runner. */
function runsOn(o: InitOptions, env: string): string {
  return o.platform === 'self-hosted-lb'
    ? `[self-hosted, ops-lb-${env}] # a runner on the load balancer of ${env}`
    : 'ubuntu-latest'
}

function routerSettings(o: InitOptions, env: string): string[] {
  const host = (what: string): string => `${what}.${env}.${PLACEHOLDER}.internal`
  const transport =
    o.platform === 'vm-ssh'
      ? [
          '  # The load balancer(s), reached over SSH (key and known_hosts are environment secrets).',
          `  ssh-host: ${host('lb1')}`,
          '  ssh-user: deploy'
        ]
      : ['  # The runner is the load balancer (label ops-lb-' + env + '): commands run locally.']
  if (o.router === 'haproxy') {
    return [
      '  router: haproxy',
      ...transport,
      '  haproxy-socket: /run/haproxy/admin.sock',
      `  haproxy-backend: ${o.service}`,
      '  blue-server: blue',
      '  green-server: green',
      `  # Persist weights across an HAProxy reload (server-state-file in haproxy.cfg):`,
      '  # haproxy-state-file: /var/lib/haproxy/server-state'
    ]
  }
  if (o.router === 'nginx') {
    return [
      '  router: nginx',
      ...transport,
      `  nginx-upstream-file: /etc/nginx/conf.d/${o.service}-upstream.conf`,
      `  nginx-upstream-name: ${o.service}`,
      `  blue-servers: ${host('app-blue')}:8000`,
      `  green-servers: ${host('app-green')}:8000`
    ]
  }
  return [
    '  router: kubernetes',
    `  namespace: ${env}`,
    // With an HTTPRoute the weights go to Services <app>-blue / <app>-green, no selector switch.
    ...(o.strategy === 'canary' ? [] : [`  service: ${o.service}`]),
    `  app: ${o.service}`,
    '  # Deployments <app>-blue and <app>-green, pods labelled slot: blue|green.',
    ...(o.strategy === 'canary'
      ? [
          '  # Canary weights: a Gateway API HTTPRoute (or canary-ingress for ingress-nginx).',
          `  httproute: ${o.service}`
        ]
      : [])
  ]
}

function healthSettings(o: InitOptions, env: string): string[] {
  if (o.router === 'kubernetes') {
    return [
      '  # Probed from the runner before a slot takes traffic: per-slot Services or routes.',
      `  health-url-blue: https://${o.service}-blue.${env}.${PLACEHOLDER}.example.com/healthz`,
      `  health-url-green: https://${o.service}-green.${env}.${PLACEHOLDER}.example.com/healthz`
    ]
  }
  return [
    '  # Probed from the runner before a slot takes traffic (each slot directly, not via the LB).',
    `  health-url-blue: http://app-blue.${env}.${PLACEHOLDER}.internal:8000/healthz`,
    `  health-url-green: http://app-green.${env}.${PLACEHOLDER}.internal:8000/healthz`
  ]
}

/** `.github/ops-actions/<env>.yml`: the one place the router settings of an environment live. */
export function renderSettings(o: InitOptions, env: string): string {
  const lines = [
    `# ops-actions settings for ${o.service} in the GitHub environment \`${env}\` (written by`,
    '# `ops-actions init`; docs/settings-file.md). deploy-bluegreen, canary-promote and the',
    "# rollback all read the `deploy` section, so a rollback uses exactly the deploy's router.",
    `# Replace every ${PLACEHOLDER} (hostnames and URLs); the actions refuse a value that still has one.`,
    '# Secrets never go here: they are environment secrets passed by the workflows.',
    'deploy:',
    ...routerSettings(o, env),
    ...healthSettings(o, env),
    '  health-checks: 3',
    '  health-timeout: 2m',
    `  environment: ${env}`,
    'deploy-bluegreen:',
    '  # Probed through the load balancer after the switch; errors or slow answers roll back.',
    `  verify-url: https://${o.service}.${env}.${PLACEHOLDER}.example.com/`,
    '  verify-duration: 30s'
  ]
  if (o.strategy === 'canary') {
    lines.push(
      'canary-promote:',
      `  prometheus-url: https://prometheus.${env}.${PLACEHOLDER}.internal:9090`,
      '  steps: 5,25,50,100',
      '  step-duration: 2m',
      '  max-error-rate: 0.1%',
      '  max-p95-latency: 500ms'
    )
  }
  return `${lines.join('\n')}\n`
}

/** The `with:` lines every release step gets: the settings file and the secrets. */
function releaseWith(o: InitOptions, env: string, mode: string): string[] {
  const lines = [`          settings-file: ${settingsPath(env)}`, `          mode: ${mode}`]
  if (o.platform === 'vm-ssh') {
    lines.push(
      '          ssh-key: ${{ secrets.SSH_KEY }}',
      '          ssh-known-hosts: ${{ secrets.SSH_KNOWN_HOSTS }}'
    )
  }
  if (o.router === 'kubernetes') lines.push('          kubeconfig: ${{ steps.kube.outputs.path }}')
  lines.push('          github-token: ${{ github.token }}')
  return lines
}

/** Steps that give the release job its cluster credentials (Kubernetes only). */
function clusterSteps(o: InitOptions): string[] {
  if (o.router !== 'kubernetes') return []
  if (o.platform === 'eks') {
    return [
      '      # EKS through OIDC: no long-lived AWS key. Environment variables AWS_ROLE_ARN,',
      '      # AWS_REGION, EKS_CLUSTER; the role trusts this repository and environment.',
      '      - name: AWS credentials through OIDC',
      `        uses: ${AWS_CREDENTIALS}`,
      '        with:',
      '          role-to-assume: ${{ vars.AWS_ROLE_ARN }}',
      '          aws-region: ${{ vars.AWS_REGION }}',
      '      - name: Kubeconfig',
      '        id: kube',
      '        env:',
      '          CLUSTER: ${{ vars.EKS_CLUSTER }}',
      '          REGION: ${{ vars.AWS_REGION }}',
      '        run: |',
      '          umask 077',
      '          file="$RUNNER_TEMP/ops-kubeconfig"',
      '          aws eks update-kubeconfig --name "$CLUSTER" --region "$REGION" --kubeconfig "$file"',
      '          echo "path=$file" >> "$GITHUB_OUTPUT"'
    ]
  }
  const why: Record<string, string> = {
    gke: '# GKE: a kubeconfig for a deploy service account (or use google-github-actions/auth with OIDC).',
    aks: '# AKS: a kubeconfig for a deploy identity (or use azure/login with OIDC).',
    kubeconfig:
      '# Any cluster: a kubeconfig for a deploy service account, as an environment secret.'
  }
  return [
    `      ${why[o.platform]}`,
    '      # The action takes a PATH: the secret goes to a private file, never into an input.',
    '      - name: Kubeconfig',
    '        id: kube',
    '        env:',
    '          KUBECONFIG_DATA: ${{ secrets.KUBECONFIG }}',
    '        run: |',
    '          umask 077',
    '          file="$RUNNER_TEMP/ops-kubeconfig"',
    `          printf '%s\\n' "$KUBECONFIG_DATA" > "$file"`,
    '          echo "path=$file" >> "$GITHUB_OUTPUT"'
  ]
}

function checkoutStep(): string[] {
  return ['      - uses: ' + CHECKOUT, '        with:', '          persist-credentials: false']
}

function registryLogin(o: InitOptions): { permissions: string[]; steps: string[]; with: string[] } {
  if (o.registry === 'ghcr') {
    return {
      permissions: ['      contents: read', '      packages: write'],
      steps: [],
      with: ['          username: ${{ github.actor }}', '          password: ${{ github.token }}']
    }
  }
  if (o.registry === 'ecr') {
    return {
      permissions: ['      contents: read', '      id-token: write'],
      steps: [
        '      # ECR through OIDC: environment variables AWS_ROLE_ARN, AWS_REGION, ECR_REGISTRY.',
        '      - name: AWS credentials through OIDC',
        `        uses: ${AWS_CREDENTIALS}`,
        '        with:',
        '          role-to-assume: ${{ vars.AWS_ROLE_ARN }}',
        '          aws-region: ${{ vars.AWS_REGION }}',
        '      - name: Log in to ECR',
        '        env:',
        '          REGION: ${{ vars.AWS_REGION }}',
        '          REGISTRY: ${{ vars.ECR_REGISTRY }}',
        '        run: aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"'
      ],
      with: []
    }
  }
  return {
    permissions: ['      contents: read'],
    steps: [],
    with: [
      '          username: ${{ vars.REGISTRY_USERNAME }}',
      '          password: ${{ secrets.REGISTRY_PASSWORD }}'
    ]
  }
}

function header(o: InitOptions, what: string): string[] {
  return [
    `# ${what} (written by \`ops-actions init\`; ${o.router} on ${o.platform}, registry ${o.registry}).`,
    '# Router settings: .github/ops-actions/<environment>.yml. Secrets: environment secrets of',
    '# the GitHub environment (Settings -> Environments), listed in docs/adoption.md.'
  ]
}

/** The job that builds the image with Docker buildx and pushes it (image-push). */
function buildJob(o: InitOptions, login: ReturnType<typeof registryLogin>): string[] {
  return [
    '  build:',
    '    runs-on: ubuntu-latest',
    '    timeout-minutes: 30',
    '    permissions:',
    ...login.permissions,
    '    outputs:',
    '      image: ${{ steps.push.outputs.image }}',
    '    steps:',
    ...checkoutStep(),
    ...login.steps,
    '      - name: Build and push the image',
    '        id: push',
    `        uses: ${uses(o, 'image-push')}`,
    '        with:',
    '          mode: build',
    `          image: ${imageName(o)}`,
    '          tags: |',
    '            sha-${{ github.sha }}',
    ...login.with,
    ''
  ]
}

/** `.github/workflows/ops-deploy-<env>.yml`: build and push the image, then release it. */
export function renderDeploy(o: InitOptions, env: string, first: boolean): string {
  const login = registryLogin(o)
  const canary = o.strategy === 'canary'
  const built = o.build === 'docker'
  // Built here: the pushed digest; built elsewhere: the tag that pipeline pushed for this commit.
  const image = built
    ? '${{ needs.build.outputs.image }}'
    : `${imageName(o)}:sha-\${{ github.sha }}`
  const releaseEnv = [
    '        env:',
    ...(isVm(o) ? [`          OPS_IMAGE: ${image}`] : []),
    '          DATABASE_URL: ${{ secrets.DATABASE_URL }}'
  ]
  // What this release runs: only in the deploy workflow, never in the settings file the
  // rollback reads too.
  const releaseWithImage =
    o.router === 'kubernetes'
      ? [`          image: ${image}`]
      : [
          '          # Puts the image ($OPS_IMAGE) into the idle slot ($OPS_SLOT).',
          '          deploy-command: ./deploy/deploy-slot.sh'
        ]
  const migrations = [
    '          # Database migrations (docs/migrations.md): expand before the switch, contract in',
    '          # the next release. The command gets DATABASE_URL from the environment secret.',
    `          # pre-switch-command: '["alembic", "upgrade", "head"]'`
  ]
  const permissions = ['      contents: read', '      deployments: write']
  if (o.platform === 'eks') permissions.push('      id-token: write')
  const lines = [
    ...header(o, `Deploy ${o.service} to ${env}`),
    `name: Deploy ${o.service} to ${env}`,
    '',
    'on:',
    ...(first ? ['  push:', '    branches: [$default-branch]'] : []),
    '  workflow_dispatch:',
    '',
    'permissions: {}',
    '',
    'jobs:',
    ...(built ? buildJob(o, login) : []),
    '  release:',
    ...(built ? ['    needs: build'] : []),
    `    runs-on: ${runsOn(o, env)}`,
    '    timeout-minutes: 20',
    '    # The action records the deployment itself (Deployments API).',
    '    environment:',
    `      name: ${env}`,
    '      deployment: false',
    '    concurrency:',
    `      group: ops-deploy-${env}-${o.service}`,
    '      cancel-in-progress: false',
    '    permissions:',
    ...permissions,
    '    steps:',
    ...checkoutStep(),
    ...clusterSteps(o),
    canary ? '      - name: Canary release' : '      - name: Blue-green switch',
    `        uses: ${uses(o, canary ? 'canary-promote' : 'deploy-bluegreen')}`,
    ...releaseEnv,
    '        with:',
    ...releaseWith(o, env, canary ? 'run' : 'deploy'),
    ...releaseWithImage,
    ...(canary ? [] : migrations),
    ...(canary ? ['          prometheus-token: ${{ secrets.PROMETHEUS_TOKEN }}'] : [])
  ]
  return `${lines.join('\n')}\n`
}

/** `.github/workflows/ops-rollback-<env>.yml`: back to the previous slot, or report the state. */
export function renderRollback(o: InitOptions, env: string): string {
  const permissions = ['      contents: read', '      deployments: write']
  if (o.platform === 'eks') permissions.push('      id-token: write')
  const lines = [
    ...header(o, `Roll back ${o.service} in ${env}`),
    '# `rollback` sends all traffic back to the previous slot (it still runs the old release);',
    '# `status` only reports which slot is live. Same settings file as the deploy.',
    `name: Roll back ${o.service} in ${env}`,
    '',
    'on:',
    '  workflow_dispatch:',
    '    inputs:',
    '      mode:',
    '        description: rollback (to the previous slot) or status (report only)',
    '        type: choice',
    '        options: [rollback, status]',
    '        default: rollback',
    '',
    'permissions: {}',
    '',
    'jobs:',
    '  rollback:',
    `    runs-on: ${runsOn(o, env)}`,
    '    timeout-minutes: 15',
    '    environment:',
    `      name: ${env}`,
    '      deployment: false',
    '    concurrency:',
    `      group: ops-rollback-${env}-${o.service}`,
    '      cancel-in-progress: false',
    '    permissions:',
    ...permissions,
    '    steps:',
    ...checkoutStep(),
    ...clusterSteps(o),
    '      - name: Roll back',
    `        uses: ${uses(o, 'deploy-bluegreen')}`,
    '        with:',
    ...releaseWith(o, env, '${{ inputs.mode }}')
  ]
  return `${lines.join('\n')}\n`
}

/** The stub a VM user fills in: how one slot gets the new version. */
export function renderDeploySlot(o: InitOptions): string {
  return [
    '#!/bin/sh',
    `# Puts a new release of ${o.service} into one slot; run by deploy-bluegreen before the health`,
    '# gate (deploy-command). Environment: OPS_SLOT (blue|green, the idle slot), OPS_IMAGE (the',
    '# image by digest), OPS_MODE. Runs on the runner: on a self-hosted load-balancer runner',
    '# locally; on a hosted runner it must reach the app hosts itself (ssh, docker context, ...).',
    '# Exit non-zero to stop the release with traffic unchanged.',
    'set -eu',
    ': "${OPS_SLOT:?}" "${OPS_IMAGE:?}"',
    `echo "${PLACEHOLDER}: write how slot $OPS_SLOT gets $OPS_IMAGE (for example:" >&2`,
    `echo "  docker compose -p ${o.service}-$OPS_SLOT pull && docker compose -p ${o.service}-$OPS_SLOT up -d)" >&2`,
    'exit 1',
    ''
  ].join('\n')
}

/** Everything init writes for these options. */
export function renderInit(o: InitOptions): InitFile[] {
  const files: InitFile[] = []
  o.environments.forEach((env, i) => {
    files.push({ path: settingsPath(env), content: renderSettings(o, env) })
    files.push({
      path: `.github/workflows/ops-deploy-${env}.yml`,
      content: renderDeploy(o, env, i === 0)
    })
    files.push({
      path: `.github/workflows/ops-rollback-${env}.yml`,
      content: renderRollback(o, env)
    })
  })
  if (o.platform === 'self-hosted-lb') {
    // actionlint (and the lint of ops-actions) know the self-hosted labels from this file.
    files.push({
      path: '.github/actionlint.yaml',
      content: [
        '# Labels of the self-hosted runners on the load balancers (written by ops-actions init).',
        'self-hosted-runner:',
        '  labels:',
        ...o.environments.map((e) => `    - ops-lb-${e}`),
        ''
      ].join('\n')
    })
  }
  if (isVm(o))
    files.push({ path: 'deploy/deploy-slot.sh', content: renderDeploySlot(o), mode: 0o755 })
  return files
}

/** What the user still sets by hand after init, per file (the report's hand-edit count). */
export function handEdits(o: InitOptions): string[] {
  const perEnv: string[] = []
  const secrets = ['SSH_KEY', 'SSH_KNOWN_HOSTS'].filter(() => o.platform === 'vm-ssh')
  if (o.router === 'kubernetes' && o.platform !== 'eks') secrets.push('KUBECONFIG')
  if (o.strategy === 'canary') secrets.push('PROMETHEUS_TOKEN')
  if (o.registry === 'other') secrets.push('REGISTRY_PASSWORD')
  const vars: string[] = []
  if (o.platform === 'eks' || o.registry === 'ecr') vars.push('AWS_ROLE_ARN', 'AWS_REGION')
  if (o.platform === 'eks') vars.push('EKS_CLUSTER')
  if (o.registry === 'ecr') vars.push('ECR_REGISTRY')
  if (o.registry === 'other') vars.push('REGISTRY', 'REGISTRY_USERNAME')
  for (const env of o.environments) {
    const settings = renderSettings(o, env)
    const placeholders = settings
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('#') && l.includes(PLACEHOLDER))
    perEnv.push(`${settingsPath(env)}: ${placeholders.length} hostnames/URLs (${PLACEHOLDER})`)
    if (secrets.length) perEnv.push(`environment ${env}: secrets ${secrets.join(', ')}`)
    if (vars.length) perEnv.push(`environment ${env}: variables ${[...new Set(vars)].join(', ')}`)
  }
  if (isVm(o)) perEnv.push('deploy/deploy-slot.sh: how a slot gets the new version')
  if (o.platform === 'self-hosted-lb')
    perEnv.push(
      ...o.environments.map(
        (e) => `a self-hosted runner on the ${e} load balancer, label ops-lb-${e}`
      )
    )
  return perEnv
}
