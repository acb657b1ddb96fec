import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runContextFromEnv } from '../../src/core/run-context.js'
import { gitContextOf, type GitContext } from '../../src/image/git-context.js'
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

describe('computeTags with metadata-action rules (type=…)', () => {
  const main = { ...ctx('refs/heads/main'), defaultBranch: 'main' }
  it.each([
    [
      'v0.3.1: no `0` tag from the semver rule',
      'refs/tags/v0.3.1',
      ['semver'],
      false,
      ['0.3.1', '0.3']
    ],
    [
      'v0.3.1: no `0` from pattern={{major}}',
      'refs/tags/v0.3.1',
      [
        'type=semver,pattern={{version}}',
        'type=semver,pattern={{major}}.{{minor}}',
        'type=semver,pattern={{major}}'
      ],
      false,
      ['0.3.1', '0.3']
    ],
    [
      'v1.2.3 with patterns, prefix and suffix',
      'refs/tags/v1.2.3',
      [
        'type=semver,pattern={{major}}',
        'type=semver,pattern=v{{major}}.{{minor}},suffix=-alpine',
        'type=semver,pattern={{raw}},prefix=r'
      ],
      false,
      ['1', 'v1.2-alpine', 'rv1.2.3']
    ],
    [
      'pre-release only fills {{version}}',
      'refs/tags/v2.0.0-rc.1',
      ['type=semver,pattern={{version}}', 'type=semver,pattern={{major}}.{{minor}}'],
      true,
      ['2.0.0-rc.1']
    ],
    // metadata-action README, type=semver table
    [
      'metadata-action: match= is a regular expression, group 1 is the version',
      'refs/tags/p1/v1.2.3',
      ['type=semver,pattern={{version}},match=v(\\d.\\d.\\d)$'],
      false,
      ['1.2.3']
    ],
    [
      'metadata-action: a pre-release fills {{major}} with the version',
      'refs/tags/v2.0.8-beta.67',
      ['type=semver,pattern={{major}}'],
      false,
      ['2.0.8-beta.67']
    ],
    [
      'metadata-action: a pre-release fills {{major}}.{{minor}} with the version',
      'refs/tags/v2.0.8-beta.67',
      ['type=semver,pattern={{major}}.{{minor}},prefix=v'],
      false,
      ['v2.0.8-beta.67']
    ],
    // metadata-action README, global expressions
    [
      'metadata-action: {{branch}} and {{sha}} in value= and prefix=',
      'refs/heads/main',
      ['type=raw,value=mytag-{{branch}}-{{sha}}', 'type=sha,prefix={{branch}}-'],
      false,
      ['mytag-main-0123abc', 'main-0123abc']
    ],
    [
      'type=ref,event=tag',
      'refs/tags/v1.0.0',
      ['type=ref,event=tag', 'type=ref,event=branch'],
      false,
      ['v1.0.0']
    ],
    [
      'type=ref,event=branch',
      'refs/heads/feat/x',
      ['type=ref,event=tag', 'type=ref,event=branch'],
      false,
      ['feat-x']
    ],
    [
      'type=ref,event=pr',
      'refs/pull/7/merge',
      ['type=ref,event=pr', 'type=ref,event=branch'],
      false,
      ['pr-7']
    ],
    [
      'monorepo tag app/v1.2.3 through semver match=',
      'refs/tags/app/v1.2.3',
      [
        'type=semver,pattern={{version}},match=app/',
        'type=semver,pattern={{major}}.{{minor}},match=app/',
        'type=semver,pattern={{version}},match=web/'
      ],
      'auto',
      ['1.2.3', '1.2', 'latest']
    ],
    [
      'monorepo tag through type=match (group)',
      'refs/tags/app/v1.2.3',
      [
        'type=match,pattern=app/v(\\d+\\.\\d+\\.\\d+),group=1',
        'type=match,pattern=web/v(.*),group=1'
      ],
      'auto',
      ['1.2.3', 'latest']
    ],
    [
      'latest=auto: not for a pre-release',
      'refs/tags/app/v1.3.0-rc.1',
      ['type=semver,pattern={{version}},match=app/'],
      'auto',
      ['1.3.0-rc.1']
    ],
    [
      'latest=auto: a monorepo rule that does not match this tag tags nothing, not latest',
      'refs/tags/v2.0.0',
      ['type=semver,pattern={{version}},match=app-v(\\d+\\.\\d+\\.\\d+)'],
      'auto',
      []
    ],
    [
      'latest=auto: sha and raw rules on a release tag do not move latest (metadata-action)',
      'refs/tags/v1.2.3',
      ['type=sha', 'type=raw,value=stable', 'type=ref,event=branch'],
      'auto',
      ['sha-0123abc', 'stable']
    ],
    [
      'latest=auto: type=ref,event=tag on a release tags latest (metadata-action)',
      'refs/tags/v1.2.3',
      ['type=ref,event=tag'],
      'auto',
      ['v1.2.3', 'latest']
    ],
    [
      'latest=true: latest on any release version the ref names',
      'refs/tags/v1.2.3',
      ['type=sha'],
      true,
      ['sha-0123abc', 'latest']
    ],
    [
      'no major-only tag on 0.x, whatever surrounds {{major}}',
      'refs/tags/v0.3.1',
      [
        'type=semver,pattern=v{{major}}',
        'type=semver,pattern={{major}}-alpine',
        'type=semver,pattern=v{{major}}.{{minor}}'
      ],
      false,
      ['v0.3']
    ],
    [
      'latest=auto: not on a branch',
      'refs/heads/main',
      ['type=ref,event=branch'],
      'auto',
      ['main']
    ],
    [
      'type=sha long, custom prefix',
      'refs/heads/main',
      ['type=sha,format=long,prefix='],
      false,
      ['0123abcdef0123abcdef0123abcdef0123abcdef']
    ],
    ['type=sha default prefix', 'refs/heads/main', ['type=sha'], false, ['sha-0123abc']],
    [
      'type=raw',
      'refs/heads/main',
      ['type=raw,value=edge', 'type=raw,value=off,enable=false'],
      false,
      ['edge']
    ]
  ])('%s', (_name, ref, rules, latest, expected) => {
    expect(computeTags(rules, ctx(ref), { latest: latest as boolean | 'auto', now })).toEqual(
      expected
    )
  })

  it.each([
    ['on the default branch', main, ['edge']],
    ['on another branch', { ...main, ref: 'refs/heads/dev' }, []],
    ['when the default branch is unknown', { ...main, defaultBranch: undefined }, []]
  ])('enable={{is_default_branch}} %s', (_name, context, expected) => {
    expect(
      computeTags(['type=raw,value=edge,enable={{is_default_branch}}'], context, {
        latest: false,
        now
      })
    ).toEqual(expected)
  })

  it.each([
    ['type=semvar', /unknown type `semvar`/],
    ['type=ref', /needs event=tag, event=branch or event=pr/],
    ['type=ref,event=push', /needs event=tag/],
    ['type=raw', /needs value=/],
    ['type=semver,pattern={{mayor}}', /unknown placeholder \{\{mayor\}\}/],
    ['type=match,pattern=(', /pattern is not a regular expression/],
    ['type=sha,event=tag', /`event` is not an attribute of type=sha/],
    ['type=raw,value=a,enable=yes', /`enable` is true, false or \{\{is_default_branch\}\}/],
    ['type=raw,value=a,value=b', /`value` is given twice/]
  ])('rejects %s before anything runs', (rule, message) => {
    expect(() => validateTagRules('tags', [rule])).toThrow(message)
  })
})

describe('gitContextOf', () => {
  it.each([
    [
      {
        repository: {
          default_branch: 'trunk',
          description: 'Shop',
          license: { spdx_id: 'Apache-2.0' }
        }
      },
      { defaultBranch: 'trunk', description: 'Shop', licenses: 'Apache-2.0' }
    ],
    [
      {
        repository: {
          default_branch: 'main',
          description: null,
          license: { spdx_id: 'NOASSERTION' }
        }
      },
      { defaultBranch: 'main' }
    ],
    ['not json', {}]
  ])('reads the event payload %j', (event, expected) => {
    const dir = mkdtempSync(join(tmpdir(), 'event-'))
    const path = join(dir, 'event.json')
    writeFileSync(path, typeof event === 'string' ? event : JSON.stringify(event))
    const got = gitContextOf(
      runContextFromEnv({ GITHUB_EVENT_PATH: path, GITHUB_REF: 'refs/heads/main' })
    )
    rmSync(dir, { recursive: true })
    expect(got).toEqual({
      ref: 'refs/heads/main',
      sha: '',
      repository: '',
      serverUrl: 'https://github.com',
      runNumber: '',
      ...expected
    })
  })
})

describe('tag rules and names', () => {
  it.each([
    ['{{verison}}', /unknown placeholder \{\{verison\}\}/],
    ['---', /would never give a valid tag/],
    ["type=raw,value=nightly-{{date 'YYYYMMDD'}}", /does not expand/],
    ['type=sha,prefix={{base_ref}}-', /does not expand/]
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

  it.each([
    [
      'ghcr.io/Example-Org/My.Service:V1',
      { registry: 'ghcr.io', repository: 'example-org/my.service', tag: 'V1' }
    ],
    [
      'Registry.Example.com:5000/Team/App',
      { registry: 'registry.example.com:5000', repository: 'team/app' }
    ]
  ])('lower-cases the name of %s as metadata-action does, never the tag', (raw, expected) => {
    expect(parseImageRef('image', raw)).toEqual(expected)
  })

  it.each([['ghcr.io/org/app@sha256:123'], ['ghcr.io/org/app:bad tag'], ['ghcr.io/org/ app']])(
    'rejects %s',
    (raw) => {
      expect(() => parseImageRef('image', raw)).toThrow(/^input `image` = /)
    }
  )

  it('labels the image with title, description, licenses, source, revision, created and version', () => {
    const described = { ...ctx('refs/tags/v1.2.3'), description: 'The shop', licenses: 'MIT' }
    expect(ociLabels(described, ['1.2.3', '1.2'], now)).toEqual({
      'org.opencontainers.image.title': 'service',
      'org.opencontainers.image.description': 'The shop',
      'org.opencontainers.image.licenses': 'MIT',
      'org.opencontainers.image.url': 'https://github.com/example-org/service',
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
