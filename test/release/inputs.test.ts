import { describe, expect, test } from '@jest/globals'
import { readCanaryInputs } from '../../src/actions/canary-promote/inputs.js'
import { ConfigurationError } from '../../src/core/errors.js'
import { Inputs } from '../../src/core/inputs.js'
import { runContextFromEnv } from '../../src/core/run-context.js'

const base = {
  router: 'haproxy',
  'haproxy-socket': '/run/haproxy/admin.sock',
  'prometheus-url': 'http://127.0.0.1:9090'
}

describe('canary-promote: timeouts and gates that could never work are refused', () => {
  test.each([
    [
      'prometheus-timeout',
      { 'prometheus-timeout': '0' },
      /input `prometheus-timeout` = `0`: must be more than 0/
    ],
    [
      'health-timeout',
      { 'health-timeout': '0s' },
      /input `health-timeout` = `0s`: must be more than 0/
    ],
    [
      'health-timeout',
      { 'health-checks': '10', 'health-interval': '1s', 'health-timeout': '5s' },
      /shorter than health-checks x health-interval/
    ],
    ['health-request-timeout', { 'health-request-timeout': '0ms' }, /must be more than 0/],
    [
      'error-judgement',
      { 'error-judgement': 'optimistic' },
      /input `error-judgement` = `optimistic`: expected one of `interval`, `point`/
    ],
    [
      'max-step-duration',
      { 'step-duration': '1m', 'max-step-duration': '30s' },
      /input `max-step-duration` = `30s`: expected at least step-duration \(1m\)/
    ],
    [
      'max-step-duration',
      { 'max-step-duration': '1000h' },
      /input `max-step-duration` = `1000h`: .*at most 24h/
    ]
  ])('%s: %j', (input, bad, message) => {
    const values: Record<string, string> = { ...base, ...bad }
    let error: unknown
    try {
      readCanaryInputs(new Inputs((n) => values[n] ?? ''), runContextFromEnv({}))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as ConfigurationError).input).toBe(input)
    expect((error as Error).message).toMatch(message)
  })
})

describe('canary-promote: the judgement defaults to the interval rule', () => {
  test('error-judgement interval, max-step-duration 5 x step-duration', () => {
    const c = readCanaryInputs(
      new Inputs((n) => ({ ...base, 'step-duration': '2m' })[n] ?? ''),
      runContextFromEnv({})
    )
    expect(c.canary.thresholds.errorJudgement).toBe('interval')
    expect(c.canary.maxStepDurationMs).toBe(10 * 60_000)
  })
})
