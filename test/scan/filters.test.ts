import { describe, expect, it } from '@jest/globals'
import { ConfigurationError } from '../../src/core/errors.js'
import { analyseReport } from '../../src/scan/analyse.js'
import { globToRegExp, parseIgnoreFile, type IgnoreRule } from '../../src/scan/ignore.js'
import { parseReport, type TrivyReport } from '../../src/scan/report.js'
import { parseSeverityList, type Severity } from '../../src/scan/severity.js'
import { readFixture } from './helpers.js'

const NOW = new Date('2026-09-01T12:00:00Z')
const buster = parseReport(
  readFixture('trivy-image-debian-buster-critical-and-unfixed.json'),
  'buster'
)
const fluentd = parseReport(
  readFixture('trivy-sbom-fluentd-critical-high-low-unfixed.json'),
  'fluentd'
)
const secrets = parseReport(readFixture('trivy-repo-secrets.json'), 'secrets')
const terraform = parseReport(readFixture('trivy-config-terraform-misconfigs.json'), 'terraform')

function analyse(
  report: TrivyReport,
  opts: { severity?: Severity[]; unfixed?: boolean; rules?: IgnoreRule[] } = {}
) {
  return analyseReport(report, {
    severities: new Set(opts.severity ?? ['CRITICAL', 'HIGH']),
    ignoreUnfixed: opts.unfixed ?? false,
    ignoreRules: opts.rules ?? [],
    now: NOW
  })
}

describe('severity gate', () => {
  it.each([
    [['CRITICAL'], buster, ['CVE-2019-18224']],
    [['LOW'], buster, ['CVE-2019-18276']],
    [['MEDIUM'], buster, []],
    [
      ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'],
      fluentd,
      ['CVE-2019-18224', 'CVE-2020-8165', 'CVE-2019-18276']
    ],
    [['HIGH'], terraform, ['AWS-0132']],
    [['MEDIUM', 'LOW'], terraform, ['AWS-0090', 'AWS-0089']],
    [['HIGH'], secrets, ['mysecret']]
  ] as [Severity[], TrivyReport, string[]][])('%j on %#', (severity, report, failing) => {
    const a = analyse(report, { severity })
    expect(a.gate.failing.map((f) => f.id)).toEqual(failing)
    expect(a.gate.passed).toBe(failing.length === 0)
  })

  it('the gate severity never removes findings from the counts (SARIF keeps every severity)', () => {
    const a = analyse(fluentd, { severity: ['CRITICAL'] })
    expect(a.findings).toHaveLength(3)
    expect(a.gate.counts).toMatchObject({ critical: 1, high: 1, low: 1, total: 3, fixable: 2 })
  })

  it.each([
    ['critical,high', ['CRITICAL', 'HIGH']],
    ['MEDIUM', ['MEDIUM']]
  ])('parses %s', (raw, expected) => {
    expect([...parseSeverityList('severity', raw.split(','))]).toEqual(expected)
  })

  it('refuses an unknown severity naming the input', () => {
    expect(() => parseSeverityList('severity', ['CRITICAL', 'SEVERE'])).toThrow(
      /input `severity` = `CRITICAL,SEVERE`: `SEVERE` is not a severity/
    )
  })
})

describe('ignore-unfixed', () => {
  it('drops vulnerabilities without a fixed version, as trivy --ignore-unfixed does', () => {
    const a = analyse(buster, { unfixed: true, severity: ['LOW'] })
    expect(a.findings.map((f) => f.id)).toEqual(['CVE-2019-18224'])
    expect(a.unfixedDropped).toBe(1)
    expect(a.gate.passed).toBe(true)
  })

  /** The real buster report with CVE-2019-18224's status (and fixed version) replaced. */
  function busterWith(status: string | undefined, fixed: string | undefined): TrivyReport {
    const doc = JSON.parse(readFixture('trivy-image-debian-buster-critical-and-unfixed.json'))
    const v = doc.Results[0].Vulnerabilities.find(
      (x: { VulnerabilityID: string }) => x.VulnerabilityID === 'CVE-2019-18224'
    )
    if (status === undefined) delete v.Status
    else v.Status = status
    if (fixed === undefined) delete v.FixedVersion
    else v.FixedVersion = fixed
    return parseReport(JSON.stringify(doc), 'buster')
  }

  it.each([
    ['fixed', '2.2.0-1', true],
    ['will_not_fix', '2.2.0-1', false],
    ['end_of_life', '2.2.0-1', false],
    ['fix_deferred', undefined, false],
    ['affected', undefined, false],
    ['under_investigation', undefined, false],
    [undefined, '2.2.0-1', true],
    [undefined, undefined, false]
  ])(
    'status %s with fixed version %s is kept: %s (only `fixed` survives, as in Trivy)',
    (status, fixed, kept) => {
      const a = analyse(busterWith(status, fixed), { unfixed: true, severity: ['CRITICAL'] })
      expect(a.findings.some((f) => f.id === 'CVE-2019-18224')).toBe(kept)
      expect(a.gate.passed).toBe(!kept)
    }
  )

  it('keeps secrets and misconfigurations, which have no fixed version', () => {
    expect(analyse(secrets, { unfixed: true }).findings).toHaveLength(2)
    expect(analyse(terraform, { unfixed: true }).findings).toHaveLength(3)
  })
})

describe('.trivyignore (plain)', () => {
  const file = [
    '# accepted risk, tracked in JIRA-1',
    'CVE-2019-18224 exp:2026-12-31',
    'CVE-2020-8165 exp:2026-08-31',
    '',
    'AWS-0132',
    'mysecret'
  ].join('\n')
  const rules = parseIgnoreFile(file, '.trivyignore')

  it('parses IDs, comments and expiry dates', () => {
    expect(rules.map((r) => [r.id, r.expiresAt?.toISOString().slice(0, 10), r.origin])).toEqual([
      ['CVE-2019-18224', '2026-12-31', '.trivyignore:2'],
      ['CVE-2020-8165', '2026-08-31', '.trivyignore:3'],
      ['AWS-0132', undefined, '.trivyignore:5'],
      ['mysecret', undefined, '.trivyignore:6']
    ])
  })

  it('ignores by ID across kinds; an expired entry ignores nothing and is reported', () => {
    const a = analyse(fluentd, { rules })
    expect(a.ignore.ignored.map((f) => f.id)).toEqual(['CVE-2019-18224'])
    expect(a.gate.failing.map((f) => f.id)).toEqual(['CVE-2020-8165'])
    expect(a.ignore.expired.map((e) => [e.rule.id, e.findings])).toEqual([['CVE-2020-8165', 1]])
    expect(analyse(terraform, { rules }).gate.passed).toBe(true)
    expect(analyse(secrets, { rules }).gate.failing.map((f) => f.id)).toEqual(['aws-access-key-id'])
  })

  it('expires at the start of the expiry day (UTC), like Trivy', () => {
    const [rule] = parseIgnoreFile('CVE-2019-18224 exp:2026-09-01', '.trivyignore')
    const at = (iso: string) =>
      analyseReport(buster, {
        severities: new Set(['CRITICAL']),
        ignoreUnfixed: false,
        ignoreRules: [rule],
        now: new Date(iso)
      }).gate.passed
    expect(at('2026-08-31T23:59:59Z')).toBe(true)
    expect(at('2026-09-01T00:00:00Z')).toBe(false)
  })

  it('refuses a malformed expiry naming file and line', () => {
    expect(() => parseIgnoreFile('CVE-1 exp:2026-02-30', '.trivyignore')).toThrow(
      ConfigurationError
    )
    expect(() => parseIgnoreFile('x\nCVE-1 exp:tomorrow', '.trivyignore')).toThrow(
      /\.trivyignore:2: expiry `tomorrow`/
    )
  })
})

describe('.trivyignore.yaml', () => {
  const yaml = `
vulnerabilities:
  - id: CVE-2019-18224
    purls: ["pkg:deb/debian/libidn2-0@2.0.5-1?distro=debian-10.2"]
    statement: not reachable
  - id: CVE-2020-8165
    paths: ["var/lib/gems/**/activesupport-*.gemspec"]
    expired_at: 2026-06-01
misconfigurations:
  - id: AWS-0132
    paths: ["terraform-aws-modules/**"]
secrets:
  - id: aws-access-key-id
    paths: ["other/*.sh"]
`
  const rules = parseIgnoreFile(yaml, '.trivyignore.yaml')

  it('matches purls, paths and kinds; expired entries stop ignoring', () => {
    const a = analyse(fluentd, { rules })
    expect(a.ignore.ignored.map((f) => f.id)).toEqual(['CVE-2019-18224'])
    expect(a.ignore.expired.map((e) => [e.rule.id, e.rule.origin, e.findings])).toEqual([
      ['CVE-2020-8165', '.trivyignore.yaml vulnerabilities[1]', 1]
    ])
    expect(analyse(terraform, { rules }).gate.passed).toBe(true)
    // the path does not match deploy.sh: the secret stays
    expect(analyse(secrets, { rules }).gate.failing.map((f) => f.id)).toEqual([
      'aws-access-key-id',
      'mysecret'
    ])
  })

  it('a purl for another package version does not ignore', () => {
    const other = parseIgnoreFile(
      'vulnerabilities:\n  - id: CVE-2019-18224\n    purls: ["pkg:deb/debian/libidn2-0@9"]\n',
      'i.yaml'
    )
    expect(analyse(buster, { rules: other }).gate.passed).toBe(false)
  })

  it.each([
    ['pkg:deb/debian/libidn2-0', true],
    ['pkg:deb/debian/libidn2-0@2.0.5-1', true],
    ['pkg:deb/debian/libidn2-0?distro=debian-10.1&arch=amd64', true],
    ['pkg:deb/debian/libidn2-0?distro=debian-11', false],
    ['pkg:deb/ubuntu/libidn2-0', false],
    ['pkg:rpm/debian/libidn2-0', false],
    ['pkg:deb/debian/libidn2', false],
    ['pkg:DEB/debian/libidn2-0', true]
  ])('purl %s ignores libidn2-0@2.0.5-1?arch=amd64&distro=debian-10.1: %s', (purl, ignored) => {
    const rules = parseIgnoreFile(
      `vulnerabilities:\n  - id: CVE-2019-18224\n    purls: ["${purl}"]\n`,
      'i.yaml'
    )
    expect(analyse(buster, { rules, severity: ['CRITICAL'] }).gate.passed).toBe(ignored)
  })

  it('refuses a purl that is not one, naming the entry', () => {
    expect(() =>
      parseIgnoreFile('vulnerabilities:\n  - id: X\n    purls: ["libidn2-0"]\n', 'i.yaml')
    ).toThrow(/i.yaml vulnerabilities\[0\]: `libidn2-0` is not a package URL/)
  })

  it('an entry of one kind does not hide another kind with the same ID', () => {
    const wrongKind = parseIgnoreFile('secrets:\n  - id: CVE-2019-18224\n', 'i.yml')
    expect(analyse(buster, { rules: wrongKind }).gate.passed).toBe(false)
  })

  it.each([
    ['unknown: []', /unknown section `unknown`/],
    ['vulnerabilities:\n  - paths: [a]', /needs an `id`/],
    ['vulnerabilities: [', /not valid YAML/],
    ['vulnerabilities:\n  - id: X\n    expired_at: soon', /expiry `soon`/],
    ['vulnerabilities: CVE-2024-1', /`vulnerabilities` must be a list of entries/],
    ['vulnerabilities:\n  id: CVE-2024-1', /`vulnerabilities` must be a list of entries/]
  ])('refuses %j', (text, message) => {
    expect(() => parseIgnoreFile(text, '.trivyignore.yaml')).toThrow(ConfigurationError)
    expect(() => parseIgnoreFile(text, '.trivyignore.yaml')).toThrow(message)
  })

  it.each([
    ['**/*.tf', 'a/b/main.tf', true],
    ['*.tf', 'a/main.tf', false],
    ['modules/**', 'modules/x/y', true],
    ['file?.sh', 'file1.sh', true],
    ['a.b', 'axb', false],
    // doublestar v4.10.0 (trivy 0.74's) answers, run with `doublestar.Match`
    ['node_modules/**/package.json', 'node_modules/evilpackage.json', false],
    ['node_modules/**/package.json', 'node_modules/package.json', true],
    ['node_modules/**/package.json', 'node_modules/a/b/package.json', true],
    ['modules/**', 'modules', true],
    ['vendor/**', 'vendorx/a', false],
    ['{a,b}/x.tf', 'a/x.tf', true],
    ['[ab].tf', 'a.tf', true],
    ['**/*.tf', 'main.tf', true],
    ['a**b', 'axyb', true],
    ['a**b', 'ax/yb', false],
    ['**', 'a/b', true],
    ['*.tf', 'a/main.tf', false]
  ])('glob %s against %s: %s', (glob, path, expected) => {
    expect(globToRegExp(glob).test(path)).toBe(expected)
  })
})

describe('misconfiguration IDs as Trivy matches them (ID, AVDID, aliases)', () => {
  // Trivy 0.74 writes `ID: DS-0002` and no AVDID; its checks' aliases (AVD-DS-0002, DS002) are
  // `json:"-"` but `trivy config --ignorefile` still honours them (pkg/result/filter.go).
  const modern = parseReport(
    JSON.stringify({
      SchemaVersion: 2,
      Results: [
        {
          Target: 'services/api/Dockerfile',
          Class: 'config',
          Misconfigurations: [{ ID: 'DS-0002', Severity: 'HIGH', Status: 'FAIL' }]
        },
        {
          Target: 'deploy/k.yaml',
          Class: 'config',
          Misconfigurations: [{ ID: 'KCV-0088', Severity: 'HIGH', Status: 'FAIL' }]
        }
      ]
    }),
    'modern'
  )
  // Trivy < 0.6x: `ID: DS002`, `AVDID: AVD-DS-0002`.
  const legacy = parseReport(
    JSON.stringify({
      SchemaVersion: 2,
      Results: [
        {
          Target: 'Dockerfile',
          Class: 'config',
          Misconfigurations: [
            { ID: 'DS002', AVDID: 'AVD-DS-0002', Severity: 'HIGH', Status: 'FAIL' }
          ]
        }
      ]
    }),
    'legacy'
  )

  it.each([
    ['AVD-DS-0002\nAVD-KCV-0088\n', '.trivyignore'],
    ['DS002\nKCV0088\n', '.trivyignore'],
    ['misconfigurations:\n  - id: AVD-DS-0002\n  - id: KCV0088\n', '.trivyignore.yaml']
  ])('%j in %s ignores the check on a 0.74 report, as trivy does', (text, file) => {
    expect(analyse(modern, { rules: parseIgnoreFile(text, file) }).gate.failing).toEqual([])
  })

  it.each(['AVD-DS-0002', 'DS002', 'DS-0002'])('%s ignores the check on an old report', (id) => {
    expect(analyse(legacy, { rules: parseIgnoreFile(`${id}\n`, '.trivyignore') }).gate.passed).toBe(
      true
    )
  })

  it('another check or a vulnerability ID does not', () => {
    expect(
      analyse(modern, { rules: parseIgnoreFile('AVD-DS-0003\nDS02\n', '.trivyignore') }).gate
        .failing.length
    ).toBe(2)
  })
})

describe('license ignore paths, as trivy matches them', () => {
  // pkg/result/filter.go: MatchLicense(l.Name, l.FilePath) — the result's Target is not tried.
  const report = parseReport(
    JSON.stringify({
      SchemaVersion: 2,
      Results: [
        {
          Target: 'package-lock.json',
          Class: 'license',
          Licenses: [{ Name: 'AGPL-3.0', Severity: 'HIGH', Category: 'forbidden', PkgName: 'x' }]
        },
        {
          Target: 'Loose File License(s)',
          Class: 'license-file',
          Licenses: [
            {
              Name: 'GPL-3.0',
              Severity: 'HIGH',
              Category: 'restricted',
              FilePath: 'vendor/COPYING'
            }
          ]
        }
      ]
    }),
    'licenses'
  )
  const rules = parseIgnoreFile(
    'licenses:\n  - id: AGPL-3.0\n    paths: ["package-lock.json"]\n  - id: GPL-3.0\n    paths: ["vendor/**"]\n',
    '.trivyignore.yaml'
  )

  it('a path matches the license file path only', () => {
    expect(analyse(report, { rules }).gate.failing.map((f) => f.id)).toEqual(['AGPL-3.0'])
  })
})
