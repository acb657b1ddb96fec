/**
 * What code scanning keys alerts on: the location path, the region, partialFingerprints and the
 * run's category. A new image tag, a moved line or a second scan in the same workflow must not
 * close and reopen alerts (dismissals would be lost).
 */
import { describe, expect, it } from '@jest/globals'
import { collectFindings, parseReport, type TrivyReport } from '../../src/scan/report.js'
import { buildSarif, FINGERPRINT_KEY, findingPath } from '../../src/scan/sarif.js'
import {
  imageWithoutVersion,
  localTargetKey,
  normaliseTargetKey,
  osPackagesPath,
  parseImageRef,
  repoPathPrefix,
  sameTarget,
  scanLabel,
  scanTargetKey
} from '../../src/scan/target.js'
import { readFixture } from './helpers.js'

interface SarifResult {
  ruleId: string
  locations: {
    physicalLocation: {
      artifactLocation: { uri: string }
      region: { startLine: number; endLine: number }
    }
  }[]
  partialFingerprints: Record<string, string>
}

function sarifOf(report: TrivyReport, options = {}) {
  const doc = JSON.parse(buildSarif(collectFindings(report), report, options).text)
  return { run: doc.runs[0], results: doc.runs[0].results as SarifResult[] }
}

/** The real buster report, as if Trivy had scanned it from a registry at `ref`. */
function busterAt(ref: string): TrivyReport {
  const text = readFixture('trivy-image-debian-buster-critical-and-unfixed.json').replaceAll(
    'testdata/fixtures/images/debian-buster.tar.gz',
    ref
  )
  return parseReport(text, ref)
}

describe('image references, as go-containerregistry reads them for Trivy', () => {
  it.each([
    ['ghcr.io/acme/api:1.2.3', { registry: 'ghcr.io', repository: 'acme/api' }],
    ['ghcr.io/acme/api@sha256:' + 'a'.repeat(64), { registry: 'ghcr.io', repository: 'acme/api' }],
    [
      'ghcr.io/acme/api:1.2.3@sha256:' + 'b'.repeat(64),
      { registry: 'ghcr.io', repository: 'acme/api' }
    ],
    ['alpine:3.19', { registry: 'index.docker.io', repository: 'library/alpine' }],
    ['docker.io/alpine', { registry: 'index.docker.io', repository: 'library/alpine' }],
    ['acme/api:2', { registry: 'index.docker.io', repository: 'acme/api' }],
    ['localhost:5000/app:1', { registry: 'localhost:5000', repository: 'app' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['127.0.0.1:5000/team/app:v1', { registry: '127.0.0.1:5000', repository: 'team/app' }],
    ['/abs/rootfs', undefined],
    ['Upper/Case:1', undefined],
    ['https://github.com/acme/api', undefined],
    ['', undefined]
  ])('%s', (ref, expected) => {
    expect(parseImageRef(ref)).toEqual(expected)
  })

  it.each([
    ['ghcr.io/acme/api:1.2.3 (alpine 3.19.1)', 'acme/api'],
    ['alpine:3.10 (alpine 3.10.2)', 'library/alpine'],
    [
      'testdata/fixtures/images/alpine-310.tar.gz (alpine 3.10.2)',
      'testdata/fixtures/images/alpine-310.tar.gz'
    ],
    ['/tmp/rootfs (alpine 3.19.1)', '/tmp/rootfs'],
    ['ghcr.io/acme/api@sha256:' + 'c'.repeat(64) + ' (debian 12.5)', 'acme/api']
  ])('os-packages path of %s is %s (Trivy ToPathUri)', (target, path) => {
    expect(osPackagesPath(target)).toBe(path)
  })

  it('matches the path Trivy itself wrote for an image loaded from a tar', () => {
    const trivy = JSON.parse(readFixture('trivy-image-alpine-310.sarif.json'))
    const uri = trivy.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri
    expect(osPackagesPath('testdata/fixtures/images/alpine-310.tar.gz (alpine 3.10.2)')).toBe(uri)
  })
})

describe('SARIF of an image at another tag', () => {
  it('has identical locations and fingerprints (aquasecurity/trivy#2357)', () => {
    const a = sarifOf(busterAt('ghcr.io/acme/api:1.2.3'))
    const b = sarifOf(busterAt('ghcr.io/acme/api:1.2.4'))
    const c = sarifOf(busterAt('ghcr.io/acme/api@sha256:' + 'd'.repeat(64)))
    const where = (r: SarifResult[]) => r.map((x) => [x.ruleId, x.locations, x.partialFingerprints])
    expect(a.results).toHaveLength(2)
    expect(where(b.results)).toEqual(where(a.results))
    expect(where(c.results)).toEqual(where(a.results))
    expect(a.results[0].locations[0].physicalLocation.artifactLocation.uri).toBe('acme/api')
    expect(JSON.stringify(a.results)).not.toContain('1.2.3')
  })

  it('another image is another location and another fingerprint', () => {
    const a = sarifOf(busterAt('ghcr.io/acme/api:1.2.3')).results[0]
    const b = sarifOf(busterAt('ghcr.io/acme/web:1.2.3')).results[0]
    expect(b.locations[0].physicalLocation.artifactLocation.uri).toBe('acme/web')
    expect(b.partialFingerprints[FINGERPRINT_KEY]).not.toBe(a.partialFingerprints[FINGERPRINT_KEY])
  })
})

describe('file findings', () => {
  const terraform = parseReport(readFixture('trivy-config-terraform-misconfigs.json'), 'tf')

  it('a sub-directory scan gives paths from the repository root', () => {
    const root = sarifOf(terraform).results.map(
      (r) => r.locations[0].physicalLocation.artifactLocation.uri
    )
    const sub = sarifOf(terraform, { pathPrefix: 'infra/prod' }).results.map(
      (r) => r.locations[0].physicalLocation.artifactLocation.uri
    )
    expect(root[0]).toBe('terraform-aws-modules/s3-bucket/aws/main.tf')
    expect(sub).toEqual(root.map((p) => `infra/prod/${p}`))
  })

  it.each([
    ['package-lock.json', 'services/api', 'services/api/package-lock.json'],
    ['./a/../b.tf', 'infra', 'infra/b.tf'],
    ['a\\b.tf', 'x', 'x/a/b.tf'],
    [
      'git::https://example.com/vpc.git/main.tf',
      'infra',
      'git::https://example.com/vpc.git/main.tf'
    ],
    ['main.tf', '', 'main.tf']
  ])('%s under %s -> %s', (target, prefix, path) => {
    expect(
      findingPath({ kind: 'misconfiguration', id: 'X', severity: 'LOW', target, title: '' }, prefix)
    ).toBe(path)
  })

  it('lockfile findings point at the lines Packages[].Locations lists, every one of them', () => {
    const doc = JSON.parse(readFixture('trivy-repo-pnpm-lockfile-vulns.json'))
    const lodash = doc.Results[0].Packages.find((p: { Name: string }) => p.Name === 'lodash')
    lodash.Locations = [
      { StartLine: 40, EndLine: 44 },
      { StartLine: 90, EndLine: 93 }
    ]
    const { results } = sarifOf(parseReport(JSON.stringify(doc), 'pnpm'))
    const r = results.find((x) => x.ruleId === 'CVE-2019-10744')!
    expect(r.locations.map((l) => l.physicalLocation.region)).toEqual([
      expect.objectContaining({ startLine: 40, endLine: 44 }),
      expect.objectContaining({ startLine: 90, endLine: 93 })
    ])
    // jquery lists no location: line 1, as Trivy does
    const j = results.find((x) => x.ruleId === 'CVE-2019-11358')!
    expect(j.locations[0].physicalLocation.region).toMatchObject({ startLine: 1, endLine: 1 })
  })

  it('fingerprints do not move with lines and differ between findings', () => {
    const moved = JSON.parse(readFixture('trivy-config-terraform-misconfigs.json'))
    for (const r of moved.Results)
      for (const m of r.Misconfigurations ?? []) m.CauseMetadata.StartLine += 7
    const a = sarifOf(terraform).results.map((r) => r.partialFingerprints[FINGERPRINT_KEY])
    const b = sarifOf(parseReport(JSON.stringify(moved), 'moved')).results.map(
      (r) => r.partialFingerprints[FINGERPRINT_KEY]
    )
    expect(b).toEqual(a)
    expect(new Set(a).size).toBe(a.length)
    expect(a.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true)
  })

  it('two secrets of one rule in one file stay two alerts', () => {
    const doc = JSON.parse(readFixture('trivy-repo-secrets.json'))
    const secret = doc.Results[0].Secrets[0]
    doc.Results[0].Secrets.push({ ...secret, StartLine: 99, EndLine: 99 })
    const prints = sarifOf(parseReport(JSON.stringify(doc), 's')).results.map(
      (r) => r.partialFingerprints[FINGERPRINT_KEY]
    )
    expect(new Set(prints).size).toBe(prints.length)
  })
})

describe('several scans in one workflow', () => {
  it('each run carries its category; none without one', () => {
    const report = busterAt('ghcr.io/acme/api:1.2.3')
    expect(sarifOf(report).run.automationDetails).toBeUndefined()
    expect(
      sarifOf(report, { category: 'trivy-image:ghcr.io/acme/api' }).run.automationDetails
    ).toEqual({ id: 'trivy-image:ghcr.io/acme/api/' })
  })
})

describe('the identity of a scan target', () => {
  it.each([
    ['image', 'ghcr.io/acme/api:1.2.3', 'image:ghcr.io/acme/api'],
    ['image', 'ghcr.io/acme/api@sha256:' + 'e'.repeat(64), 'image:ghcr.io/acme/api'],
    ['image', 'alpine:3.19', 'image:docker.io/library/alpine'],
    ['image', 'localhost:5000/app:7', 'image:localhost:5000/app'],
    ['fs', 'services/api', 'fs:services/api'],
    ['repo', 'https://github.com/acme/api', 'repo:https://github.com/acme/api']
  ])('%s %s -> %s', (label, target, key) => {
    expect(scanTargetKey(label, target)).toBe(key)
    expect(normaliseTargetKey(`${label}:${target}`)).toBe(key)
  })

  it.each([
    ['./services/api', 'fs:services/api'],
    ['services/api/', 'fs:services/api'],
    ['/w/services/api', 'fs:services/api'],
    ['.', 'fs:.'],
    ['/elsewhere/api', 'fs:/elsewhere/api']
  ])(
    'a local path %s in workspace /w is keyed %s, and so is an older marker of it',
    (path, key) => {
      expect(localTargetKey('fs', path, '/w')).toBe(key)
      expect(normaliseTargetKey(`fs:${path}`, '/w')).toBe(key)
    }
  )

  it('keeps a tagless image as it is', () => {
    expect(imageWithoutVersion('ghcr.io/acme/api')).toBe('ghcr.io/acme/api')
  })

  it.each([
    ['container_image', 'image'],
    ['repository', 'repo'],
    ['filesystem', 'fs'],
    ['cyclonedx', 'sbom'],
    [undefined, 'image'],
    ['something-new', 'image']
  ])('a report of ArtifactType %s is labelled %s', (type, label) => {
    expect(scanLabel(type, 'image')).toBe(label)
  })
})

describe('where a scanned directory sits in the repository', () => {
  it.each([
    ['/w', '/w/services/api', true, 'services/api'],
    ['/w', '/w', true, ''],
    ['/w', '/w/infra/main.tf', false, 'infra'],
    ['/w', '/w/main.tf', false, ''],
    ['/w', '/elsewhere/api', true, ''],
    ['/w', undefined, true, '']
  ])('workspace %s, scanned %s (directory %s) -> %j', (workspace, scanned, isDir, prefix) => {
    expect(repoPathPrefix(workspace, scanned, isDir)).toBe(prefix)
  })
})

describe('sameTarget: is a report of the target named with it', () => {
  const digest = `sha256:${'a'.repeat(64)}`
  it.each([
    ['image', 'nginx:1.25', 'docker.io/library/nginx:1.25', true],
    ['image', 'ghcr.io/acme/api:1.2.3', 'ghcr.io/acme/api:1.2.4', false],
    ['image', 'ghcr.io/acme/api', 'ghcr.io/acme/api:latest', true],
    ['image', `ghcr.io/acme/api@${digest}`, `ghcr.io/acme/api:1.2.3@${digest}`, true],
    ['image', `ghcr.io/acme/api@${digest}`, 'ghcr.io/acme/api:1.2.3', false],
    ['image', 'ghcr.io/acme/api:1.2.3', 'ghcr.io/acme/web:1.2.3', false],
    ['fs', './services/api/', 'services/api', true],
    ['fs', 'services/api', '/w/services/api', true],
    ['fs', 'services/api', 'services/web', false],
    ['repo', 'https://github.com/acme/api/', 'https://github.com/acme/api', true]
  ])('%s %s vs %s: %s', (label, given, reported, same) => {
    expect(sameTarget(label, given, reported, '/w')).toBe(same)
  })
})
