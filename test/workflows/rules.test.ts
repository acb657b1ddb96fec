import { describe, expect, it } from '@jest/globals'
import { checkAction } from '../../tools/workflow-lint/action-rules.js'
import { checkWorkflow } from '../../tools/workflow-lint/workflow-rules.js'
import { loadYaml } from '../../tools/workflow-lint/yaml-doc.js'

const CHECKOUT = 'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2'

/** A release workflow that follows every rule; each bad sample below breaks exactly one. */
const GOOD = `
on:
  workflow_call:
    inputs:
      environment: {type: string, required: true}
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    permissions:
      contents: read
    steps:
      - uses: ${CHECKOUT}
        with:
          persist-credentials: false
      - env:
          ENVIRONMENT: \${{ inputs.environment }}
        run: echo "$ENVIRONMENT \${{ github.sha }}"
  release:
    needs: build
    runs-on: ubuntu-latest
    timeout-minutes: 10
    environment: \${{ inputs.environment }}
    concurrency:
      group: deploy-\${{ inputs.environment }}-\${{ inputs.image }}
      cancel-in-progress: false
    permissions:
      deployments: write
      id-token: write
    steps:
      - uses: example-org/ops-actions/actions/deploy-bluegreen@v1
        with:
          mode: deploy
`

function rulesFound(source: string): string[] {
  return checkWorkflow(loadYaml('sample.yml', source)).map((f) => f.rule)
}

function breakGood(from: string, to: string): string {
  if (!GOOD.includes(from)) throw new Error(`sample does not contain ${from}`)
  return GOOD.replace(from, to)
}

describe('workflow rules', () => {
  it('finds nothing in a workflow that follows every rule', () => {
    expect(checkWorkflow(loadYaml('good.yml', GOOD))).toEqual([])
  })

  it.each([
    ['permissions', 'no top-level permissions', breakGood('permissions: {}\n', '')],
    [
      'permissions',
      'a scope at the top',
      breakGood('permissions: {}\n', 'permissions:\n  contents: read\n')
    ],
    [
      'permissions',
      'write-all on a job',
      breakGood('    permissions:\n      contents: read\n', '    permissions: write-all\n')
    ],
    [
      'oidc',
      'id-token in a job that does not deploy',
      breakGood('      contents: read\n', '      contents: read\n      id-token: write\n')
    ],
    ['unpinned-uses', 'a third-party action by tag', breakGood(CHECKOUT, 'actions/checkout@v4')],
    ['unpinned-uses', 'a SHA without its version comment', breakGood(' # v4.2.2', '')],
    [
      'unpinned-uses',
      'a docker image without digest',
      breakGood(`- uses: ${CHECKOUT}`, `- uses: docker://alpine:3\n      - uses: ${CHECKOUT}`)
    ],
    [
      'template-injection',
      'an input expanded in run',
      breakGood('run: echo "$ENVIRONMENT', 'run: echo "${{ inputs.environment }}')
    ],
    [
      'template-injection',
      'event data expanded in run',
      breakGood('run: echo "$ENVIRONMENT', 'run: echo "${{ github.event.head_commit.message }}')
    ],
    [
      'persist-credentials',
      'checkout keeping the token',
      breakGood('persist-credentials: false', 'fetch-depth: 1')
    ],
    [
      'dangerous-trigger',
      'pull_request_target',
      breakGood('on:\n', 'on:\n  pull_request_target:\n')
    ],
    [
      'secrets-inherit',
      'secrets: inherit',
      `${GOOD}  call:\n    uses: example-org/ops-actions/.github/workflows/backup.yml@v1\n    secrets: inherit\n`
    ],
    [
      'deploy-concurrency',
      'a release without concurrency',
      breakGood(
        '    concurrency:\n      group: deploy-${{ inputs.environment }}-${{ inputs.image }}\n      cancel-in-progress: false\n',
        ''
      )
    ],
    [
      'deploy-concurrency',
      'a group shared by all environments',
      breakGood('group: deploy-${{ inputs.environment }}-${{ inputs.image }}', 'group: deploy')
    ],
    [
      'deploy-concurrency',
      'a group per environment, shared by every service',
      breakGood('-${{ inputs.image }}', '')
    ],
    [
      'deploy-concurrency',
      "a rollback in the deploys' group (a queued deploy cancels it)",
      breakGood('mode: deploy', 'mode: rollback')
    ],
    [
      'skipped-ancestor',
      'a job below an optional job, without a status function',
      breakGood('    needs: build\n', '    needs: build\n').replace(
        '  build:\n    runs-on',
        '  optional:\n    if: inputs.environment == \'x\'\n    runs-on: ubuntu-latest\n    timeout-minutes: 1\n    steps:\n      - run: "true"\n  build:\n    needs: optional\n    if: ${{ !cancelled() }}\n    runs-on'
      )
    ],
    [
      'first-party-ref',
      'two releases of ops-actions in one workflow',
      `${GOOD}      - uses: example-org/ops-actions/actions/deploy-bluegreen@v2\n        with:\n          mode: deploy\n`
    ],
    [
      'secret-name',
      'a workflow_call secret with a dash',
      breakGood(
        '      environment: {type: string, required: true}\n',
        '      environment: {type: string, required: true}\n    secrets:\n      ssh-key: {required: false}\n'
      )
    ],
    [
      'secret-name',
      'a secret passed to a called workflow under a name GitHub rejects',
      `${GOOD}  call:\n    uses: example-org/ops-actions/.github/workflows/backup.yml@v1\n    secrets:\n      database-url: x\n`
    ],
    [
      'deploy-concurrency',
      'cancel-in-progress: true',
      breakGood('cancel-in-progress: false', 'cancel-in-progress: true')
    ],
    [
      'deploy-concurrency',
      'a release without environment',
      breakGood('    environment: ${{ inputs.environment }}\n', '')
    ],
    ['timeout', 'a job without timeout', breakGood('    timeout-minutes: 20\n', '')],
    [
      'timeout',
      'a release over 30 minutes',
      breakGood('timeout-minutes: 10', 'timeout-minutes: 40')
    ],
    [
      'timeout',
      "a release below the action's own limits",
      breakGood('timeout-minutes: 10', 'timeout-minutes: 5')
    ],
    [
      'timeout',
      "rollback.yml's old 5 minutes: below lock + health + rollout",
      breakGood('timeout-minutes: 10', 'timeout-minutes: 5')
        .replace('mode: deploy', 'mode: rollback')
        .replace('group: deploy-', 'group: rollback-')
    ]
  ])('%s: %s', (rule, _what, source) => {
    expect(rulesFound(source)).toContain(rule)
  })

  it('flags a bad sample once, where the problem is', () => {
    const findings = checkWorkflow(loadYaml('bad.yml', breakGood(CHECKOUT, 'actions/checkout@v4')))
    expect(findings).toEqual([
      expect.objectContaining({ file: 'bad.yml', line: 14, column: 15, rule: 'unpinned-uses' })
    ])
  })

  it('lets the kind e2e use ./actions without the release rules', () => {
    const local = breakGood(
      'example-org/ops-actions/actions/deploy-bluegreen@v1',
      './actions/deploy-bluegreen'
    )
      .replace('    environment: ${{ inputs.environment }}\n', '')
      .replace('      id-token: write\n', '')
    expect(rulesFound(local)).toEqual([])
  })

  it('accepts expressions nobody outside the workflow controls', () => {
    const safe = breakGood(
      'run: echo "$ENVIRONMENT',
      'run: echo "${{ runner.temp }} ${{ matrix.os }} ${{ steps.x.outcome }}'
    )
    expect(rulesFound(safe)).toEqual([])
  })
})

describe('action.yml rules', () => {
  const composite = (step: string) =>
    `name: x\ndescription: x\nruns:\n  using: composite\n  steps:\n${step}`

  it.each([
    ['runtime', 'node12', 'name: x\ndescription: x\nruns:\n  using: node12\n  main: index.js\n'],
    ['composite-shell', 'run without shell', composite('    - run: echo hi\n')],
    [
      'template-injection',
      'input expanded in a composite run',
      composite('    - shell: bash\n      run: echo ${{ inputs.target }}\n')
    ],
    ['unpinned-uses', 'unpinned composite uses', composite('    - uses: actions/cache@v4\n')]
  ])('%s: %s', (rule, _what, source) => {
    expect(checkAction(loadYaml('action.yml', source)).map((f) => f.rule)).toContain(rule)
  })

  it('accepts a node24 action', () => {
    const source = 'name: x\ndescription: x\nruns:\n  using: node24\n  main: dist/index.js\n'
    expect(checkAction(loadYaml('action.yml', source))).toEqual([])
  })
})
