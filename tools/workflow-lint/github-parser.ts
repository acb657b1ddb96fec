/**
 * GitHub's own workflow and action.yml parser (`@actions/workflow-parser`, the code behind the
 * VS Code extension): schema, expressions, cron, `needs`, and the inputs of the reusable
 * workflows a job calls, resolved from this checkout.
 *
 * The package imports its JSON schema without `with { type: 'json' }` (actions/languageservices#387),
 * which plain Node rejects: load this module under tsx (`node --import tsx`), as the lint CLI does.
 */
import {
  convertWorkflowTemplate,
  NoOperationTraceWriter,
  parseWorkflow
} from '@actions/workflow-parser'
import { convertActionTemplate, parseAction } from '@actions/workflow-parser/actions/index'
import { ErrorPolicy } from '@actions/workflow-parser/model/convert'
import type { FileProvider } from '@actions/workflow-parser/workflows/file-provider'
import type { Finding } from './finding.js'
import { firstPartyWorkflow } from './first-party.js'
import type { RepoLookup } from './interfaces.js'

function fileProvider(repo: RepoLookup): FileProvider {
  return {
    async getFileContent(ref) {
      // Local `./.github/workflows/x.yml` and `<org>/ops-actions/.github/workflows/x.yml@v1`
      // both come from this checkout; anything else cannot be fetched offline.
      const uses =
        'owner' in ref
          ? `${ref.owner}/${ref.repository}/${ref.path}@${ref.version}`
          : `./${ref.path}`
      const file = firstPartyWorkflow(uses)
      const content = file === undefined ? undefined : repo.workflow(file)
      if (content === undefined) throw new Error(`not available offline: ${uses}`)
      return { name: `.github/workflows/${file}`, content }
    }
  }
}

export async function parseWithGitHub(
  file: string,
  content: string,
  repo: RepoLookup
): Promise<Finding[]> {
  const trace = new NoOperationTraceWriter()
  const isAction = /(^|\/)action\.ya?ml$/.test(file)
  const result = isAction
    ? parseAction({ name: file, content }, trace)
    : parseWorkflow({ name: file, content }, trace)
  if (result.value !== undefined) {
    if (isAction) convertActionTemplate(result.context, result.value)
    else {
      await convertWorkflowTemplate(result.context, result.value, fileProvider(repo), {
        fetchReusableWorkflowDepth: 1,
        errorPolicy: ErrorPolicy.TryConversion
      })
    }
  }
  return result.context.errors.getErrors().map((e) => ({
    file,
    line: e.range?.start.line ?? 1,
    column: e.range?.start.column ?? 1,
    rule: `workflow-parser${e.code ? `:${e.code}` : ''}`,
    message: e.message
  }))
}
