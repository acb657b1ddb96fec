import { describe, expect, test } from '@jest/globals'
import { tmpdir } from 'node:os'
import { runContextFromEnv, runOwner } from '../../src/core/run-context.js'

const github = {
  GITHUB_REPOSITORY: 'acme/shop',
  GITHUB_RUN_ID: '42',
  GITHUB_WORKFLOW: 'deploy',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_SHA: 'abc123',
  GITHUB_SERVER_URL: 'https://ghe.example.com',
  GITHUB_API_URL: 'https://ghe.example.com/api/v3',
  GITHUB_REF: 'refs/tags/v1.2.0',
  GITHUB_RUN_NUMBER: '7',
  GITHUB_EVENT_PATH: '/runner/_temp/event.json',
  GITHUB_WORKSPACE: '/runner/work/shop/shop',
  RUNNER_TEMP: '/runner/_temp',
  RUNNER_TOOL_CACHE: '/runner/tool-cache'
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
        apiUrl: 'https://ghe.example.com/api/v3',
        ref: 'refs/tags/v1.2.0',
        runNumber: '7',
        eventPath: '/runner/_temp/event.json',
        workspace: '/runner/work/shop/shop',
        tempDir: '/runner/_temp',
        toolCacheDir: '/runner/tool-cache'
      }
    ],
    [
      'outside GitHub (the CLI)',
      {},
      {
        repository: undefined,
        runUrl: undefined,
        serverUrl: 'https://github.com',
        apiUrl: 'https://api.github.com',
        ref: undefined,
        eventPath: undefined,
        workspace: process.cwd(),
        tempDir: tmpdir(),
        toolCacheDir: undefined
      }
    ],
    [
      'empty variables count as unset',
      { GITHUB_REPOSITORY: '', GITHUB_API_URL: '', RUNNER_TEMP: '', GITHUB_WORKSPACE: '' },
      {
        repository: undefined,
        apiUrl: 'https://api.github.com',
        tempDir: tmpdir(),
        workspace: process.cwd()
      }
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
