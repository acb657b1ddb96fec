// Stand-in upload: POST /repos/{owner}/{repo}/code-scanning/sarifs with the gzip+base64 SARIF.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
const sarif = readFileSync(process.env.SARIF)
JSON.parse(sarif.toString('utf8')) // a file that is not JSON fails here, as upload-sarif would
const res = await fetch(
  `${process.env.GITHUB_API_URL}/repos/${process.env.GITHUB_REPOSITORY}/code-scanning/sarifs`,
  {
    method: 'POST',
    headers: { authorization: `token ${process.env.TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      commit_sha: process.env.GITHUB_SHA,
      ref: process.env.GITHUB_REF,
      sarif: gzipSync(sarif).toString('base64'),
      category: process.env.CATEGORY || undefined
    })
  }
)
console.log(`upload-sarif stand-in: ${res.status}`)
if (res.status !== 202) process.exit(1)
