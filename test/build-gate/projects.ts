import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../../lab/action-yml.js'

/** A scratch workspace holding a copy of one fixture project, so runs never write into the repo. */
export function copyProject(name: 'pytest-project' | 'jest-project'): {
  workspace: string
  project: string
  remove: () => void
} {
  const workspace = mkdtempSync(join(tmpdir(), 'build-gate-'))
  const project = join(workspace, name)
  cpSync(join(repoRoot, 'test', 'fixtures', 'build-gate', name), project, { recursive: true })
  return { workspace, project, remove: () => rmSync(workspace, { recursive: true, force: true }) }
}

/** Debian's pytest (python3-pytest), not whatever python3 comes first on PATH. */
export const pytestCommand = [
  '/usr/bin/python3',
  '-m',
  'pytest',
  '-p',
  'no:cacheprovider',
  '--junitxml=reports/pytest.xml'
]

/** This repository's jest with jest-junit and the three coverage formats build-gate reads. */
export const jestCommand = [
  process.execPath,
  join(repoRoot, 'node_modules', 'jest', 'bin', 'jest.js'),
  '--ci',
  '--reporters=default',
  `--reporters=${join(repoRoot, 'node_modules', 'jest-junit')}`,
  '--coverage',
  '--coverageReporters=lcov',
  '--coverageReporters=json-summary',
  '--coverageReporters=cobertura',
  '--coverageReporters=clover'
]
