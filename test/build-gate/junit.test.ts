import { describe, expect, it } from '@jest/globals'
import { ToolError } from '../../src/core/errors.js'
import { countTests, parseJUnit } from '../../src/build-gate/junit.js'

const surefire = `<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="com.example.CalcTest" time="0.05" tests="3" errors="1" skipped="0" failures="1">
  <properties><property name="java.version" value="21"/></properties>
  <testcase name="adds" classname="com.example.CalcTest" time="0.001"/>
  <testcase name="divides" classname="com.example.CalcTest" time="0.002">
    <failure message="expected: &lt;2&gt; but was: &lt;3&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected: <2> but was: <3>
	at com.example.CalcTest.divides(CalcTest.java:17)]]></failure>
  </testcase>
  <testcase name="parses" classname="com.example.CalcTest" time="0.001">
    <error message="boom" type="java.lang.NullPointerException">java.lang.NullPointerException: boom</error>
  </testcase>
</testsuite>`

const goJunitReport = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1">
  <testsuite name="example.com/svc/api" tests="2" failures="1" errors="0" id="0" hostname="ci" time="0.010" timestamp="2024-01-01T00:00:00Z">
    <properties><property name="go.version" value="go1.22"></property></properties>
    <testcase name="TestHealth" classname="example.com/svc/api" time="0.000"></testcase>
    <testcase name="TestOrders" classname="example.com/svc/api" time="0.010">
      <failure message="Failed" type="">    orders_test.go:42: want 200, got 500</failure>
    </testcase>
  </testsuite>
  <testsuite name="example.com/svc/store" tests="1" failures="0" errors="0" id="1" hostname="ci" time="0.001">
    <testcase name="TestPut" classname="example.com/svc/store" time="0.001">
      <skipped message="needs a database"></skipped>
    </testcase>
  </testsuite>
</testsuites>`

const nested = `<testsuites><testsuite name="outer"><testsuite name="inner">
  <testcase name="a" file="spec/a_spec.rb" line="12"><failure>bad</failure></testcase>
  <testcase name="b"/></testsuite><testcase name="c"/></testsuite></testsuites>`

// What Surefire writes with -Dsurefire.rerunFailingTestsCount=2.
const flaky = `<testsuite name="com.example.NetTest" tests="3" failures="1" errors="0" skipped="0" flakes="2">
  <testcase name="connects" classname="com.example.NetTest" time="0.2">
    <flakyFailure message="timeout" type="java.net.SocketTimeoutException">java.net.SocketTimeoutException: timeout</flakyFailure>
  </testcase>
  <testcase name="resolves" classname="com.example.NetTest" time="0.2">
    <flakyError message="boom" type="java.lang.IllegalStateException">boom</flakyError>
    <flakyError message="boom" type="java.lang.IllegalStateException">boom</flakyError>
  </testcase>
  <testcase name="reads" classname="com.example.NetTest" time="0.3">
    <failure message="expected &#60;1&#62; but was &#x3C;2&#x3E;&#10;at line 3" type="AssertionError">AssertionError</failure>
    <rerunFailure message="expected 1" type="AssertionError">again</rerunFailure>
  </testcase>
</testsuite>`

describe('parseJUnit', () => {
  it.each([
    [
      'Maven Surefire (bare <testsuite>)',
      surefire,
      { tests: 3, passed: 1, failed: 1, errors: 1, skipped: 0, flaky: 0 }
    ],
    [
      'go-junit-report',
      goJunitReport,
      { tests: 3, passed: 1, failed: 1, errors: 0, skipped: 1, flaky: 0 }
    ],
    ['nested suites', nested, { tests: 3, passed: 2, failed: 1, errors: 0, skipped: 0, flaky: 0 }],
    [
      'an empty <testsuites/>',
      '<testsuites/>',
      { tests: 0, passed: 0, failed: 0, errors: 0, skipped: 0, flaky: 0 }
    ],
    [
      'Surefire reruns (rerunFailingTestsCount): flaky passes apart, reruns that never passed as failures',
      flaky,
      { tests: 3, passed: 2, failed: 1, errors: 0, skipped: 0, flaky: 2 }
    ]
  ])('counts %s', (_name, xml, totals) => {
    expect(countTests(parseJUnit(xml, 'r.xml'))).toEqual(totals)
  })

  it('keeps the message, the body, and file/line attributes of a failure', () => {
    const [divides] = parseJUnit(surefire, 'r.xml').filter((c) => c.status === 'failed')
    expect(divides.message).toBe('expected: <2> but was: <3>')
    expect(divides.details).toContain('CalcTest.java:17')
    const a = parseJUnit(nested, 'r.xml').find((c) => c.name === 'a')
    expect(a).toMatchObject({
      suite: 'inner',
      name: 'a',
      file: 'spec/a_spec.rb',
      line: 12,
      message: 'bad'
    })
  })

  it('marks flaky tests and decodes numeric character references in messages', () => {
    const cases = parseJUnit(flaky, 'r.xml')
    expect(cases.filter((c) => c.flaky).map((c) => c.name)).toEqual(['connects', 'resolves'])
    expect(cases.find((c) => c.name === 'reads')).toMatchObject({
      status: 'failed',
      message: 'expected <1> but was <2>\nat line 3'
    })
  })

  // Ant's XMLJUnitResultFormatter puts a failed @BeforeClass/static init under <testsuite>, and
  // Jenkins reads it as a failure; a report whose attributes count failures it does not hold
  // (hand-written or trimmed) must not read as clean either.
  it.each([
    [
      'an <error> directly under <testsuite> (setup failed before any test)',
      `<testsuites><testsuite name="com.example.DbTest" tests="1" errors="1" failures="0">
         <error message="Connection refused" type="java.net.ConnectException">java.net.ConnectException: Connection refused</error>
         <testcase name="ok" classname="com.example.DbTest"/></testsuite></testsuites>`,
      { tests: 2, passed: 1, failed: 0, errors: 1, skipped: 0, flaky: 0 },
      /DbTest: error outside any test case/
    ],
    [
      'failures declared in the attributes but not held',
      `<testsuite name="s" tests="3" failures="2" errors="0"><testcase name="ok" classname="c"/></testsuite>`,
      { tests: 2, passed: 1, failed: 0, errors: 1, skipped: 0, flaky: 0 },
      /2 failure\(s\)\/error\(s\) declared but not in the report/
    ],
    [
      'a nested suite declaring an error it does not hold, the outer suite counting it',
      `<testsuites failures="0" errors="1"><testsuite name="outer" errors="1"><testsuite name="inner" errors="1"/></testsuite></testsuites>`,
      { tests: 1, passed: 0, failed: 0, errors: 1, skipped: 0, flaky: 0 },
      /inner: 1 failure/
    ]
  ])('counts %s as failing', (_name, xml, totals, name) => {
    const cases = parseJUnit(xml, 'r.xml')
    expect(countTests(cases)).toEqual(totals)
    expect(cases.filter((c) => c.status !== 'passed').map((c) => c.name)).toEqual([
      expect.stringMatching(name)
    ])
  })

  it('does not count twice a pytest case that failed and errored in teardown', () => {
    const xml = `<testsuites><testsuite name="pytest" errors="1" failures="1" tests="1">
      <testcase classname="tests.test_db" name="test_q"><failure message="assert 1 == 2">f</failure><error message="failed on teardown">e</error></testcase>
      </testsuite></testsuites>`
    expect(countTests(parseJUnit(xml, 'r.xml'))).toMatchObject({ tests: 1, failed: 1, errors: 0 })
  })

  it.each([
    [
      'truncated XML',
      '<testsuites><testsuite name="x"><testcase name="a">',
      /not well-formed XML \(line 1/
    ],
    ['an empty file', '   \n', /is empty/],
    [
      'an HTML page',
      '<html><body>502 Bad Gateway</body></html>',
      /not JUnit XML: root element is <html>/
    ],
    ['plain text', 'PASS all tests', /not well-formed XML/],
    [
      'suites nested 20000 deep',
      `<testsuites>${'<testsuite name="n">'.repeat(20000)}<testcase name="f"/>${'</testsuite>'.repeat(20000)}</testsuites>`,
      /report reports\/junit\.xml could not be read as XML: Maximum nested tags exceeded/
    ]
  ])('rejects %s with a clear error', (_name, xml, message) => {
    expect(() => parseJUnit(xml, 'reports/junit.xml')).toThrow(ToolError)
    expect(() => parseJUnit(xml, 'reports/junit.xml')).toThrow(message)
  })
})
