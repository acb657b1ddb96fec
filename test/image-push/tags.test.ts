import { describe, expect, it } from '@jest/globals'
import type { GitContext } from '../../src/image/git-context.js'
import { ociLabels } from '../../src/image/labels.js'
import { parseImageRef } from '../../src/image/reference.js'
import { computeTags, sanitizeTag, validateTagRules } from '../../src/image/tags.js'

const ctx = (ref: string): GitContext => ({
  ref,
  sha: '0123abcdef0123abcdef0123abcdef0123abcdef',
  repository: 'example-org/service',
  serverUrl: 'https://github.com',
  runNumber: '57'
})
const now = new Date('2025-03-04T05:06:07Z')
const std = ['semver', 'sha', 'branch']

describe('computeTags', () => {
  it.each([
    ['release tag', 'refs/tags/v1.2.3', std, false, ['1.2.3', '1.2', '1', 'sha-0123abc']],
    [
      'release tag with latest',
      'refs/tags/v1.2.3',
      ['semver'],
      true,
      ['1.2.3', '1.2', '1', 'latest']
    ],
    ['tag without v', 'refs/tags/4.0.1', ['semver'], false, ['4.0.1', '4.0', '4']],
    [
      'pre-release: only its own tag, never latest',
      'refs/tags/v2.0.0-rc.1',
      ['semver'],
      true,
      ['2.0.0-rc.1']
    ],
    [
      'build metadata made tag-safe',
      'refs/tags/v1.0.0+build.5',
      ['semver'],
      false,
      ['1.0.0', '1.0', '1']
    ],
    ['non-semver tag', 'refs/tags/release-x', std, true, ['sha-0123abc']],
    [
      'branch, sanitised',
      'refs/heads/feature/Login page',
      std,
      false,
      ['sha-0123abc', 'feature-Login-page']
    ],
    ['pull request', 'refs/pull/42/merge', ['branch'], false, ['pr-42']],
    [
      'templates',
      'refs/tags/v1.2.3',
      ['v{{major}}-{{run-number}}', 'stable', '{{date}}-{{sha}}'],
      false,
      ['v1-57', 'stable', '20250304-0123abc']
    ],
    [
      'template skipped without a version',
      'refs/heads/main',
      ['{{version}}', 'edge-{{branch}}'],
      false,
      ['edge-main']
    ],
    [
      'duplicates dropped',
      'refs/heads/main',
      ['branch', 'main', 'sha', 'sha'],
      false,
      ['main', 'sha-0123abc']
    ]
  ])('%s', (_name, ref, rules, latest, expected) => {
    expect(computeTags(rules, ctx(ref), { latest, now })).toEqual(expected)
  })
})

describe('tag rules and names', () => {
  it.each([
    ['{{verison}}', /unknown placeholder \{\{verison\}\}/],
    ['---', /would never give a valid tag/]
  ])('rejects the rule %s', (rule, message) => {
    expect(() => validateTagRules('tags', [rule])).toThrow(message)
  })

  it('sanitises to Docker tag grammar', () => {
    expect(sanitizeTag('-.feat/ü x')).toBe('feat-x')
    expect(sanitizeTag('a'.repeat(200))).toHaveLength(128)
  })

  it.each([
    [
      'ghcr.io/org/app@sha256:' + 'a'.repeat(64),
      { registry: 'ghcr.io', repository: 'org/app', digest: 'sha256:' + 'a'.repeat(64) }
    ],
    [
      '127.0.0.1:5000/team/app:1.2',
      { registry: '127.0.0.1:5000', repository: 'team/app', tag: '1.2' }
    ],
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['org/app:v1', { registry: 'docker.io', repository: 'org/app', tag: 'v1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }]
  ])('parses %s', (raw, expected) => {
    expect(parseImageRef('image', raw)).toEqual(expected)
  })

  it.each([['ghcr.io/Org/App'], ['ghcr.io/org/app@sha256:123'], ['ghcr.io/org/app:bad tag']])(
    'rejects %s',
    (raw) => {
      expect(() => parseImageRef('image', raw)).toThrow(/^input `image` = /)
    }
  )

  it('labels the image with source, revision, created and version', () => {
    expect(ociLabels(ctx('refs/tags/v1.2.3'), ['1.2.3', '1.2'], now)).toEqual({
      'org.opencontainers.image.source': 'https://github.com/example-org/service',
      'org.opencontainers.image.revision': '0123abcdef0123abcdef0123abcdef0123abcdef',
      'org.opencontainers.image.created': '2025-03-04T05:06:07.000Z',
      'org.opencontainers.image.version': '1.2.3'
    })
    expect(
      ociLabels(ctx('refs/heads/main'), ['sha-0123abc'], now)['org.opencontainers.image.version']
    ).toBe('sha-0123abc')
  })
})
