import { runAsGitHubAction } from '../../core/action.js'
import { post, run } from './main.js'
await runAsGitHubAction(run, post)
