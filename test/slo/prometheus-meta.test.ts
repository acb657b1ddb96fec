import { describe, expect, test } from '@jest/globals'
import { chooseBucket, parseScrapeInterval, taggedSums } from '../../src/slo/prometheus-meta.js'

describe('scrape interval from the running Prometheus configuration', () => {
  test.each([
    ['global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs: []\n', 1000],
    ['global:\n  evaluation_interval: 30s\n  scrape_interval: 15s\n', 15_000],
    ['global:\n  scrape_interval: 1m30s\n', 90_000],
    // a job's own scrape_interval is not the global one; Prometheus's default is 1m
    [
      'global:\n  evaluation_interval: 1m\nscrape_configs:\n- job_name: a\n  scrape_interval: 5s\n',
      60_000
    ],
    ['', 60_000]
  ])('%p -> %i ms', (yaml, ms) => {
    expect(parseScrapeInterval(yaml)).toBe(ms)
  })
})

describe('the histogram bucket that counts fast requests', () => {
  const les = ['0.005', '0.1', '0.25', '0.5', '1', '+Inf']
  test.each([
    [0.5, '0.5'],
    [0.3, '0.5'], // no bucket at the bound: the next one up (more lenient, never stricter)
    [0.001, '0.005'],
    [2, undefined] // only +Inf above: cannot count slow requests
  ])('bound %f s -> le %p', (bound, le) => {
    expect(chooseBucket(les, bound)).toBe(le)
  })
})

test('tagged sums are one query, each sum labelled by m', () => {
  expect(taggedSums({ a: 'sum(x)', b: 'sum(y) or vector(0)' })).toBe(
    'label_replace(sum(x), "m", "a", "", "") or label_replace(sum(y) or vector(0), "m", "b", "", "")'
  )
})
