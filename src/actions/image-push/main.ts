import type { ActionIO } from '../../core/action.js'
import { ConfigurationError } from '../../core/errors.js'
import { formatCommand } from '../../core/exec.js'
import { log } from '../../core/log.js'
import { Summary } from '../../core/summary.js'
import { buildAndPush, buildxArgv, dockerLogin } from '../../image/buildx.js'
import { gitContextFromEnv } from '../../image/git-context.js'
import { ociLabels } from '../../image/labels.js'
import { promoteImage, type PromoteResult } from '../../image/promote.js'
import { imageName } from '../../image/reference.js'
import { RegistryClient } from '../../image/registry-client.js'
import { computeTags } from '../../image/tags.js'
import { readInputs, type ImagePushInputs } from './inputs.js'

async function promote(cfg: ImagePushInputs, tags: string[]): Promise<PromoteResult> {
  const source = cfg.source!
  const sourceClient = new RegistryClient(source.registry, cfg.sourceCredentials)
  const targetClient =
    source.registry === cfg.image.registry && cfg.sourceCredentials === cfg.credentials
      ? sourceClient
      : new RegistryClient(cfg.image.registry, cfg.credentials)
  return log.group(
    `promote ${imageName(source)}@${source.digest ?? source.tag} to ${imageName(cfg.image)}`,
    () =>
      promoteImage(
        {
          client: sourceClient,
          repository: source.repository,
          reference: source.digest ?? source.tag!
        },
        { client: targetClient, repository: cfg.image.repository },
        tags
      )
  )
}

export async function run(io: ActionIO): Promise<void> {
  const cfg = readInputs(io.inputs)
  const ctx = gitContextFromEnv()
  const tags = computeTags(cfg.tagRules, ctx, { latest: cfg.latest })
  if (cfg.mode === 'build' && tags.length === 0) {
    throw new ConfigurationError(
      `input \`tags\`: no tag applies to ref \`${ctx.ref}\`; add a rule such as \`sha\``,
      'tags'
    )
  }
  const name = imageName(cfg.image)
  const labels = { ...ociLabels(ctx, tags, new Date()), ...cfg.labels }
  const refs = tags.map((t) => `${name}:${t}`)
  const summary = new Summary()
  const buildOptions = {
    name,
    tags,
    labels,
    context: cfg.context,
    file: cfg.file,
    platforms: cfg.platforms,
    buildArgs: cfg.buildArgs
  }
  if (cfg.dryRun) {
    const plan =
      cfg.mode === 'build'
        ? formatCommand(buildxArgv(buildOptions, '<metadata-file>'))
        : `copy ${imageName(cfg.source!)}@${cfg.source!.digest ?? cfg.source!.tag} to ${refs.join(', ') || `${name} (by digest)`}`
    io.setOutput('tags', refs.join('\n'))
    await io.writeSummary(
      summary.heading('Image push: dry run (nothing pushed)').code(plan).toMarkdown()
    )
    return
  }
  let digest: string
  const facts: [string, unknown][] = [['mode', cfg.mode]]
  if (cfg.mode === 'build') {
    if (cfg.credentials)
      await dockerLogin(cfg.image.registry, cfg.credentials.username, cfg.credentials.password)
    digest = await buildAndPush(buildOptions)
  } else {
    const result = await promote(cfg, tags)
    digest = result.digest
    facts.push(
      ['source', `${imageName(cfg.source!)}@${result.digest}`],
      ['manifests', result.manifests],
      [
        'blobs',
        `${result.blobs.mounted} mounted, ${result.blobs.copied} copied (${result.blobs.bytesCopied} bytes), ${result.blobs.present} already there`
      ],
      ['verified', 'each tag read back resolves to the source digest']
    )
  }
  const image = `${name}@${digest}`
  io.setOutput('digest', digest)
  io.setOutput('tags', refs.join('\n'))
  io.setOutput('image', image)
  summary
    .heading(`Image ${cfg.mode === 'build' ? 'built and pushed' : 'promoted'}`)
    .facts([['image', `\`${image}\``], ...facts])
  summary.heading('Tags', 3).list(refs.map((r) => `\`${r}\``))
  if (cfg.mode === 'build')
    summary.heading('Labels', 3).table(['label', 'value'], Object.entries(labels))
  await io.writeSummary(summary.toMarkdown())
}
