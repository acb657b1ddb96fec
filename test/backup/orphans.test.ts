import { describe, expect, it } from '@jest/globals'
import { endRestoreGroup, isRestoreCommand } from '../../src/backup/orphans.js'

describe('the post step ends only a restore of ours (a process id can be reused)', () => {
  it.each([
    ['pg_restore\0-w\0-d\0db\0/tmp/x.dump\0', true],
    ['/usr/lib/postgresql/15/bin/pg_restore\0-j\x002\0', true],
    ['psql\0-X\0-q\0', true],
    ['node\0dist/index.js\0', false],
    ['/bin/bash\0-c\0pg_restore\0', false],
    ['', false]
  ])('%j -> %s', (cmdline, ours) => {
    expect(isRestoreCommand(cmdline)).toBe(ours)
  })

  it.each([[0], [1], [-5], [Number.NaN], [process.pid]])('never signals %s', (pid) => {
    // Our own process (jest, not a restore) and invalid ids are left alone.
    expect(endRestoreGroup(pid)).toBe(false)
  })
})
