import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findReports, MAX_REPORT_BYTES } from '../../src/build-gate/reports.js'

// Report files are whatever the checkout and its tests left there: they are checked before
// anything reads them, so a hostile or broken one fails fast instead of hanging the job.
describe('findReports: only regular files of a readable size', () => {
  const root = mkdtempSync(join(tmpdir(), 'reports-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  const dir = (name: string) => {
    const d = join(root, name)
    mkdirSync(join(d, 'reports'), { recursive: true })
    return d
  }

  it('refuses a symlink to a device (read for ever) at once', async () => {
    const d = dir('device')
    symlinkSync('/dev/zero', join(d, 'reports', 'junit.xml'))
    const started = Date.now()
    await expect(findReports('test-reports', ['reports/*.xml'], d)).rejects.toThrow(
      /input `test-reports`: reports\/junit\.xml is not a regular file/
    )
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('refuses a report larger than it can parse, naming its size', async () => {
    const d = dir('huge')
    const file = join(d, 'reports', 'junit.xml')
    writeFileSync(file, '<testsuites>')
    truncateSync(file, MAX_REPORT_BYTES + 1) // sparse: no disk used
    await expect(findReports('test-reports', ['reports/*.xml'], d)).rejects.toThrow(
      new RegExp(`reports/junit\\.xml is ${MAX_REPORT_BYTES + 1} bytes`)
    )
  })

  it('reads an ordinary report, also through a symlink', async () => {
    const d = dir('ok')
    writeFileSync(join(d, 'real.xml'), '<testsuites/>')
    symlinkSync(join(d, 'real.xml'), join(d, 'reports', 'junit.xml'))
    await expect(findReports('test-reports', ['reports/*.xml'], d)).resolves.toEqual([
      join(d, 'reports', 'junit.xml')
    ])
  })
})
