import * as github from '@actions/github'
import { errorMessage } from '../core/errors.js'
import { log } from '../core/log.js'
import type { RunContext } from '../core/run-context.js'

export interface DeploymentOptions {
  token: string
  environment: string
  environmentUrl?: string
  description: string
}

type Octokit = ReturnType<typeof github.getOctokit>

/**
 * A GitHub Deployment for one run: created `in_progress`, ended `success` or `failure`; on
 * success the environment's older successful deployments are marked `inactive` (GitHub does
 * not do that for production environments). API trouble is a warning, never a failed switch:
 * the traffic change is what matters and the router records it.
 */
export class DeploymentRecord {
  private id?: number
  private readonly octokit: Octokit

  constructor(
    private readonly options: DeploymentOptions,
    private readonly context: RunContext
  ) {
    log.secret(options.token)
    this.octokit = github.getOctokit(options.token, { baseUrl: context.apiUrl })
  }

  get deploymentId(): number | undefined {
    return this.id
  }

  private get repo(): { owner: string; repo: string } {
    const [owner = '', repo = ''] = (this.context.repository ?? '/').split('/')
    return { owner, repo }
  }

  private get logUrl(): string {
    const { serverUrl, repository, runId } = this.context
    return this.context.runUrl ?? `${serverUrl}/${repository}/actions/runs/${runId}`
  }

  async start(): Promise<number | undefined> {
    try {
      const created = await this.octokit.rest.repos.createDeployment({
        ...this.repo,
        ref: this.context.sha ?? '',
        environment: this.options.environment,
        description: this.options.description.slice(0, 140),
        auto_merge: false,
        required_contexts: [],
        transient_environment: false,
        production_environment: /prod/i.test(this.options.environment)
      })
      if (!('id' in created.data))
        throw new Error(`GitHub did not create it: ${JSON.stringify(created.data)}`)
      this.id = created.data.id
      await this.status('in_progress', this.options.description)
      return this.id
    } catch (error) {
      log.warning(`GitHub deployment not recorded: ${errorMessage(error)}`)
      return undefined
    }
  }

  private async status(
    state: 'in_progress' | 'success' | 'failure' | 'inactive',
    description: string,
    id = this.id
  ): Promise<void> {
    if (id === undefined) return
    await this.octokit.rest.repos.createDeploymentStatus({
      ...this.repo,
      deployment_id: id,
      state,
      description: description.slice(0, 140),
      log_url: this.logUrl,
      environment_url: state === 'inactive' ? undefined : this.options.environmentUrl,
      auto_inactive: false
    })
  }

  async finish(success: boolean, description: string): Promise<void> {
    if (this.id === undefined) return
    try {
      await this.status(success ? 'success' : 'failure', description)
      if (success) await this.deactivateOlder()
    } catch (error) {
      log.warning(`GitHub deployment status not updated: ${errorMessage(error)}`)
    }
  }

  private async deactivateOlder(): Promise<void> {
    const { data } = await this.octokit.rest.repos.listDeployments({
      ...this.repo,
      environment: this.options.environment,
      per_page: 30
    })
    for (const d of data) {
      if (d.id === this.id) continue
      const statuses = await this.octokit.rest.repos.listDeploymentStatuses({
        ...this.repo,
        deployment_id: d.id,
        per_page: 1
      })
      if (statuses.data[0]?.state === 'success') {
        await this.status('inactive', `superseded by deployment ${this.id}`, d.id)
      }
    }
  }
}
