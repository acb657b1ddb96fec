import { describe, expect, it } from '@jest/globals'
import { fileURLToPath } from 'node:url'
import { inputEnvName } from '../../lab/action-yml.js'
import { parseCommandFile, parseWorkflowCommands, runAction } from '../../lab/runner.js'

const echoAction = fileURLToPath(new URL('../fixtures/echo-action', import.meta.url))

describe('runner harness: parsing the protocol files', () => {
  it.each([
    ['a=1\n', { a: '1' }],
    ['a=b=c\n', { a: 'b=c' }],
    ['k<<EOF\nx\ny\nEOF\n', { k: 'x\ny' }],
    ['k<<D\n\nD\nj=2\n', { k: '', j: '2' }]
  ])('parseCommandFile(%j)', (text, expected) => {
    expect(parseCommandFile(text)).toEqual(expected)
  })

  it('rejects an unterminated heredoc and a line without =', () => {
    expect(() => parseCommandFile('k<<EOF\nx\n')).toThrow(/unterminated/)
    expect(() => parseCommandFile('garbage\n')).toThrow(/malformed/)
  })

  it('reads annotations and masks from stdout', () => {
    const { annotations, masks } = parseWorkflowCommands(
      'plain\n::error file=a%2Cb.ts,line=4::bad%0Athing\n::add-mask::pw\n::debug::d\n'
    )
    expect(masks).toEqual(['pw'])
    expect(annotations).toEqual([
      { level: 'error', message: 'bad\nthing', properties: { file: 'a,b.ts', line: '4' } },
      { level: 'debug', message: 'd', properties: {} }
    ])
  })

  it.each([
    ['greeting', 'INPUT_GREETING'],
    ['my input', 'INPUT_MY_INPUT'],
    ['with-dash', 'INPUT_WITH-DASH']
  ])('input %j is passed as %s', (name, env) => expect(inputEnvName(name)).toBe(env))
})

describe('runner harness: running an action', () => {
  it('fills defaults, names inputs as the runner does, parses outputs, state, env, path, summary', async () => {
    const r = await runAction(echoAction, { 'my input': 'spaced', 'with-dash': 'dashed' })
    expect(r.exitCode).toBe(0)
    expect(JSON.parse(r.outputs.seen)).toEqual({
      greeting: 'hello',
      space: 'spaced',
      dash: 'dashed',
      repo: 'example-org/example-service'
    })
    expect(r.outputs.simple).toBe('a=b')
    expect(r.state).toEqual({ token: 'line1\nline2' })
    expect(r.env).toEqual({ FROM_STEP: '1' })
    expect(r.path).toEqual(['/opt/tool/bin'])
    expect(r.summary).toBe('## Echo\n')
    expect(r.masks).toEqual(['s3cret'])
    expect(r.annotations[0]).toEqual({
      level: 'warning',
      message: 'multi\nline',
      properties: { file: 'src/a.ts', line: '3', title: 'Heads up' }
    })
  })

  it('runs the post entry with STATE_* from the main step, also after a failure', async () => {
    const r = await runAction(echoAction, { fail: 'true' })
    expect(r.exitCode).toBe(1)
    expect(r.annotations.some((a) => a.level === 'error' && a.message === 'asked to fail')).toBe(
      true
    )
    expect(r.post?.exitCode).toBe(0)
    expect(JSON.parse(r.post!.outputs['post-state'])).toBe('line1\nline2')
    expect(r.post?.annotations[0].message).toBe('post ran')
  })

  it('refuses an input that action.yml does not declare', async () => {
    await expect(runAction(echoAction, { nope: '1' })).rejects.toThrow(
      /declares no input\(s\) nope/
    )
  })
})
