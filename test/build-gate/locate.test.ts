import { describe, expect, it } from '@jest/globals'
import { locateFailure } from '../../src/build/locate.js'
import type { TestCase } from '../../src/build/junit.js'

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
})
