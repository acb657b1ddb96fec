import * as core from '@actions/core'
import { Inputs, type InputSource } from './inputs.js'
import { describeFailure, exitCodeFor } from './errors.js'
import { log, setLogSink, redact } from './log.js'
import { bundleActionSpec, givenOnGitHub, settingsLayer } from '../settings/layer.js'
import { runContextFromEnv, type RunContext } from './run-context.js'

/** What an action's logic sees of the outside world: the same on GitHub, in the CLI and in tests. */
export interface ActionIO {
  inputs: Inputs
  /** The run this is (repository, run URL, event), read once from the runner's variables. */
  context: RunContext
  setOutput(name: string, value: string | number | boolean): void
  writeSummary(markdown: string): Promise<void>
  saveState(name: string, value: string): void
  getState(name: string): string
}

export type ActionStep = (io: ActionIO) => Promise<void>

const githubSource: InputSource = (name) => core.getInput(name)

export function githubIO(source: InputSource = githubSource): ActionIO {
  return {
    inputs: new Inputs(source),
    context: runContextFromEnv(),
    setOutput: (name, value) => core.setOutput(name, redact(String(value))),
    writeSummary: async (markdown) => {
      if (!process.env.GITHUB_STEP_SUMMARY) {
        log.info(markdown)
        return
      }
      await core.summary.addRaw(redact(markdown), true).write()
    },
    saveState: (name, value) => core.saveState(name, value),
    getState: (name) => core.getState(name)
  }
}

function useGitHubLog(): void {
  setLogSink({
    info: core.info,
    debug: core.debug,
    warning: (m, p) => core.warning(m, p),
    error: (m, p) => core.error(m, p),
    notice: (m, p) => core.notice(m, p),
    startGroup: core.startGroup,
    endGroup: core.endGroup,
    setSecret: core.setSecret
  })
}

/**
 * The body of every bundle's index.ts. The same bundle is the `main` and the `post` entry:
 * the first run saves `isPost`, and the runner hands it back as STATE_isPost for the post run
 * (the docker/actions-toolkit convention). A post step never fails the job; it warns.
 */
export async function runAsGitHubAction(main: ActionStep, post?: ActionStep): Promise<void> {
  useGitHubLog()
  const isPost = process.env.STATE_isPost === 'true'
  // The settings file (input `settings-file`) sits under the inputs; read inside the try so a
  // bad file fails the step like a bad input.
  let attribute = (error: unknown): unknown => error
  const openIO = (): ActionIO => {
    const spec = bundleActionSpec()
    const layer = settingsLayer(githubSource, spec, givenOnGitHub(githubSource, spec))
    attribute = layer.attribute
    return githubIO(layer.source)
  }
  if (isPost) {
    try {
      if (post) await post(openIO())
    } catch (error) {
      core.warning(`post step: ${describeFailure(attribute(error))}`)
    }
    process.exit(0)
  }
  core.saveState('isPost', 'true')
  try {
    await main(openIO())
    process.exit(0)
  } catch (error) {
    core.setFailed(describeFailure(attribute(error)))
    process.exit(exitCodeFor(error))
  }
}
