import { runAsGitHubAction } from '../../core/action.js'
import { run } from './main.js'

await runAsGitHubAction(run)
