import type { GitContext } from './git-context.js'
import { releaseVersion } from './tags.js'

/**
 * The OCI annotation keys (image-spec annotations.md) as image labels: where the image came
 * from, which commit, when, and which version, so a running container can be traced back.
 */
export function ociLabels(ctx: GitContext, tags: string[], created: Date): Record<string, string> {
  const version = releaseVersion(ctx)?.version ?? tags[0]
  return {
    ...(ctx.repository && {
      'org.opencontainers.image.title': ctx.repository.split('/').pop()!,
      'org.opencontainers.image.url': `${ctx.serverUrl}/${ctx.repository}`,
      'org.opencontainers.image.source': `${ctx.serverUrl}/${ctx.repository}`
    }),
    ...(ctx.description && { 'org.opencontainers.image.description': ctx.description }),
    ...(ctx.licenses && { 'org.opencontainers.image.licenses': ctx.licenses }),
    ...(ctx.sha && { 'org.opencontainers.image.revision': ctx.sha }),
    'org.opencontainers.image.created': created.toISOString(),
    ...(version && { 'org.opencontainers.image.version': version })
  }
}
