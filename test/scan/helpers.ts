import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The real Trivy reports, read in place from ../shared beside the repository. */
export const TRIVY_FIXTURES = fileURLToPath(
  new URL('../../../shared/fixtures/trivy/', import.meta.url)
)

export const FAKE_TRIVY = fileURLToPath(new URL('../fixtures/scan/fake-trivy.mjs', import.meta.url))

export function fixturePath(name: string): string {
  return `${TRIVY_FIXTURES}${name}`
}

export function readFixture(name: string): string {
  return readFileSync(fixturePath(name), 'utf8')
}

/** Every JSON report (not the SARIF one). */
export function jsonReportFixtures(): string[] {
  return readdirSync(TRIVY_FIXTURES).filter(
    (f) => f.endsWith('.json') && !f.endsWith('.sarif.json')
  )
}
