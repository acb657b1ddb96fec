import { describe, expect, it } from '@jest/globals'
import { locateFailure } from '../../src/build-gate/locate.js'
import type { TestCase } from '../../src/build-gate/junit.js'

const base: TestCase = { suite: 's', classname: 'c', name: 'n', status: 'failed', timeSeconds: 0 }

describe('locateFailure', () => {
  it.each([
    [
      'a jest stack: first frame in the test file, path made relative to the workspace',
      {
        file: 'src/sum.test.js',
        details:
          'Error: nope\n    at helper (/ws/app/node_modules/x/index.js:3:1)\n    at Object.<anonymous> (/ws/app/src/sum.test.js:8:21)'
      },
      '/ws/app',
      { file: 'app/src/sum.test.js', line: 8 }
    ],
    [
      'a pytest traceback relative to the working directory',
      { details: 'def test_x():\n>       assert 1 == 2\n\ntest_calc.py:11: AssertionError' },
      '/ws/svc',
      { file: 'svc/test_calc.py', line: 11 }
    ],
    [
      'file and line attributes only',
      { file: 'spec/a_spec.rb', line: 4 },
      '/ws',
      { file: 'spec/a_spec.rb', line: 4 }
    ],
    ['library frames only', { details: 'at x (/usr/lib/python3/dist-packages/m.py:1)' }, '/ws', {}],
    ['a path outside the workspace', { details: 'at /etc/app/t.py:3' }, '/ws', {}]
  ])('%s', (_name, test, workDir, expected) => {
    expect(locateFailure({ ...base, ...test }, workDir, '/ws')).toEqual(expected)
  })

  // What Gradle and Surefire write for a JUnit 5 assertion: no file attribute, and the first
  // frames are inside opentest4j / junit-jupiter.
  const junit5 = [
    'org.opentest4j.AssertionFailedError: expected: <2> but was: <3>',
    '\tat app//org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)',
    '\tat app//org.junit.jupiter.api.AssertEquals.assertEquals(AssertEquals.java:150)',
    '\tat app//org.junit.jupiter.api.Assertions.assertEquals(Assertions.java:560)',
    '\tat app//com.example.calc.CalcTest.divides(CalcTest.java:17)',
    '\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)'
  ].join('\n')
  const sources = new Set([
    '/ws/svc/app/src/test/java/com/example/calc/CalcTest.java',
    '/ws/lib/src/test/kotlin/com/example/util/StrTest.kt'
  ])
  it.each([
    [
      'JUnit 5 in a Gradle module: the first project frame',
      junit5,
      '/ws/svc',
      ['app'],
      { file: 'svc/app/src/test/java/com/example/calc/CalcTest.java', line: 17 }
    ],
    [
      'Kotlin at the project root',
      'java.lang.AssertionError\n\tat kotlin.test.AssertionsKt.fail(Assertions.kt:5)\n\tat com.example.util.StrTest.trims(StrTest.kt:9)',
      '/ws/lib',
      [],
      { file: 'lib/src/test/kotlin/com/example/util/StrTest.kt', line: 9 }
    ],
    [
      'library frames only',
      '\tat org.junit.jupiter.api.Assertions.fail(Assertions.java:1)',
      '/ws/svc',
      ['app'],
      {}
    ],
    [
      'project code whose source is not found: no guess',
      junit5.replace('calc.CalcTest', 'other.CalcTest'),
      '/ws/svc',
      ['app'],
      {}
    ]
  ])('%s', (_name, details, workDir, modules, expected) => {
    expect(
      locateFailure({ ...base, details }, workDir, '/ws', (p) => sources.has(p), modules)
    ).toEqual(expected)
  })
})
