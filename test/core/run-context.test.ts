import { describe, expect, test } from '@jest/globals'
import { runContextFromEnv, runOwner } from '../../src/core/run-context.js'

const github = {
  GITHUB_REPOSITORY: 'acme/shop',
  GITHUB_RUN_ID: '42',
  GITHUB_WORKFLOW: 'deploy',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_SHA: 'abc123',
  GITHUB_SERVER_URL: 'https://ghe.example.com',
  GITHUB_API_URL: 'https://ghe.example.com/api/v3'
}

describe('the run context', () => {
  test.each([
    [
      'on GitHub',
      github,
      {
        repository: 'acme/shop',
        runUrl: 'https://ghe.example.com/acme/shop/actions/runs/42',
        eventName: 'push',
        sha: 'abc123',
        apiUrl: 'https://ghe.example.com/api/v3'
      }
    ],
    [
      'outside GitHub (the CLI)',
      {},
      {
        repository: undefined,
        runUrl: undefined,
        serverUrl: 'https://github.com',
        apiUrl: 'https://api.github.com'
      }
    ],
    [
      'empty variables count as unset',
      { GITHUB_REPOSITORY: '', GITHUB_API_URL: '' },
      { repository: undefined, apiUrl: 'https://api.github.com' }
    ],
    ['no run id: no run URL', { GITHUB_REPOSITORY: 'acme/shop' }, { runUrl: undefined }]
  ])('%s', (_name, env, expected) => {
    expect(runContextFromEnv(env)).toMatchObject(expected)
  })

  test.each([
    [github, 'acme/shop run 42 (deploy) on lb1'],
    [{}, `ops-actions CLI pid ${process.pid} on lb1`]
  ])('lock owner %#', (env, owner) => {
    expect(runOwner(runContextFromEnv(env), 'lb1')).toBe(owner)
  })
})
