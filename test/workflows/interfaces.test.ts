import { describe, expect, it } from '@jest/globals'
import { checkCalls, type RepoLookup } from '../../tools/workflow-lint/interfaces.js'
import { loadYaml } from '../../tools/workflow-lint/yaml-doc.js'

const ACTION = `
name: deploy-bluegreen
description: x
inputs:
  router: {description: x, required: true}
  mode: {description: x, default: deploy}
runs: {using: node24, main: dist/index.js}
`
const CALLEE = `
on:
  workflow_call:
    inputs:
      environment: {type: string, required: true}
      dry-run: {type: boolean, default: false}
    secrets:
      kubeconfig: {required: false}
permissions: {}
jobs:
  release:
    runs-on: ubuntu-latest
    permissions:
      deployments: write
    steps: [{run: echo}]
`
const repo: RepoLookup = {
  actionYml: (name) => (name === 'deploy-bluegreen' ? ACTION : undefined),
  workflow: (file) => (file === 'deploy.yml' ? CALLEE : undefined)
}

function stepCaller(
  withBlock: string,
  uses = 'example-org/ops-actions/actions/deploy-bluegreen@v1'
) {
  return `permissions: {}\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: ${uses}\n        with:\n${withBlock}`
}

function jobCaller(body: string, uses = 'example-org/ops-actions/.github/workflows/deploy.yml@v1') {
  return `permissions: {}\njobs:\n  call:\n    uses: ${uses}\n    permissions:\n      deployments: write\n${body}`
}

function check(source: string) {
  return checkCalls(loadYaml('caller.yml', source), repo, loadYaml)
}

const messages = (source: string) => check(source).findings.map((f) => f.message)

describe('calls to our actions', () => {
  it('accepts known inputs with every required one given, by remote or local ref', () => {
    expect(check(stepCaller('          router: haproxy\n')).findings).toEqual([])
    const local = check(stepCaller('          router: haproxy\n', './actions/deploy-bluegreen'))
    expect(local.findings).toEqual([])
    expect(local.checked).toEqual(['caller.yml: ./actions/deploy-bluegreen'])
  })

  it('resolves any owner of ops-actions to this checkout', () => {
    expect(
      check(
        stepCaller('          routr: haproxy\n', 'acme/ops-actions/actions/deploy-bluegreen@v1.2.0')
      ).findings
    ).toHaveLength(2)
  })

  it('reports an unknown with: key and a missing required input', () => {
    expect(messages(stepCaller('          routr: haproxy\n'))).toEqual([
      '`deploy-bluegreen` has no input `routr` (inputs: router, mode)',
      '`deploy-bluegreen`: required input `router` is not given'
    ])
  })

  it('skips, visibly, an action whose action.yml does not exist yet', () => {
    const report = check(
      stepCaller('          x: 1\n', 'example-org/ops-actions/actions/not-yet@v1')
    )
    expect(report.findings).toEqual([])
    expect(report.checked).toEqual([])
    expect(report.skipped).toEqual([
      'caller.yml: example-org/ops-actions/actions/not-yet@v1 (actions/not-yet/action.yml does not exist yet)'
    ])
  })

  it('reports a reusable workflow whose empty default overrides the action default', () => {
    const reusable = (defaultValue: string) =>
      `on:\n  workflow_call:\n    inputs:\n      mode: {type: string, default: ${defaultValue}}\n` +
      stepCaller('          router: haproxy\n          mode: ${{ inputs.mode }}\n')
    expect(messages(reusable('""'))).toEqual([
      '`deploy-bluegreen` input `mode` defaults to `deploy`, but workflow input `mode` defaults to empty and overrides it; declare `default: deploy`'
    ])
    expect(messages(reusable('deploy'))).toEqual([])
    expect(messages(reusable('rollback'))).toEqual([])
  })

  it('leaves third-party actions alone', () => {
    expect(
      check(
        stepCaller(
          '          anything: 1\n',
          'actions/cache@0c45773b623bea8c8e75f6c82b208c3cf94ea4f9'
        )
      ).checked
    ).toEqual([])
  })
})

describe('calls to our reusable workflows', () => {
  it('accepts declared inputs and secrets with enough permissions', () => {
    const ok = jobCaller(
      '    with:\n      environment: staging\n      dry-run: true\n    secrets:\n      kubeconfig: ${{ secrets.KUBE }}\n'
    )
    expect(check(ok).findings).toEqual([])
  })

  it.each([
    [
      'an undeclared input',
      '    with:\n      environment: staging\n      strategi: canary\n',
      '`deploy.yml` declares no input `strategi` (inputs: environment, dry-run)'
    ],
    [
      'a missing required input',
      '    with:\n      dry-run: true\n',
      '`deploy.yml`: required input `environment` is not given'
    ],
    [
      'a wrongly typed literal',
      '    with:\n      environment: staging\n      dry-run: yes please\n',
      '`deploy.yml` input `dry-run` is a boolean, got `yes please`'
    ],
    [
      'an undeclared secret',
      '    with:\n      environment: staging\n    secrets:\n      token: x\n',
      '`deploy.yml` declares no secret `token`'
    ]
  ])('reports %s', (_what, body, message) => {
    expect(messages(jobCaller(body))).toEqual([message])
  })

  it('reports a caller that grants less than the callee asks for', () => {
    const source = jobCaller('    with:\n      environment: staging\n').replace(
      '      deployments: write\n',
      '      deployments: read\n'
    )
    expect(messages(source)).toEqual([
      'job `call` must grant `deployments: write`: `deploy.yml` asks for it and a callee only gets what its caller has'
    ])
  })

  it('reports a reusable workflow that does not exist', () => {
    const source = jobCaller(
      '    with:\n      environment: staging\n',
      'example-org/ops-actions/.github/workflows/deplyo.yml@v1'
    )
    expect(messages(source)).toEqual([
      'reusable workflow `.github/workflows/deplyo.yml` does not exist'
    ])
  })
})
