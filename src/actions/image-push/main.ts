import type { ActionIO } from '../../core/action.js'
import { ConfigurationError } from '../../core/errors.js'
import { formatCommand } from '../../core/exec.js'
import { log } from '../../core/log.js'
import { buildAndPush, buildxArgv, dockerLogin, dockerLogout } from '../../image/buildx.js'
import { gitContextOf } from '../../image/git-context.js'
import { RegistrySource, type ImageSource } from '../../image/image-source.js'
import { ociLabels } from '../../image/labels.js'
import { OciLayoutSource } from '../../image/oci-layout.js'
import { copyImage, type PromoteResult } from '../../image/promote.js'
import { imageName } from '../../image/reference.js'
import { RegistryClient } from '../../image/registry-client.js'
import { computeTags } from '../../image/tags.js'
import { dryRunSummary, pushedSummary } from './summary.js'
import { readInputs, type ImagePushInputs } from './inputs.js'

/** State key of the post step: registries `docker login` was run for, one per line. */
export const STATE_LOGGED_IN = 'logged-in-registries'

interface CopyPlan {
  source: ImageSource
  reference: string
  /** How the source is shown: `host/repo@sha256:…` or `oci-layout ./out (sha256:…)`. */
  shown: string
  facts: [string, unknown][]
}

async function planCopy(cfg: ImagePushInputs): Promise<CopyPlan> {
  if (cfg.mode === 'oci-layout') {
    // Everything is read and hashed before any request: a corrupt layout pushes nothing.
    const layout = OciLayoutSource.open(cfg.ociLayout!)
    const top = layout.select(cfg.ociLayoutRef)
    const check = await log.group(`check ${layout.name}`, () => layout.check(top))
    return {
      source: layout,
      reference: top.digest,
      shown: `${layout.name} (${top.digest})`,
      facts: [
        [
          'layout checked',
          `${check.manifests} manifest(s), ${check.blobs} blob(s), ${check.bytes} bytes: sizes and sha256 match`
        ]
      ]
    }
  }
  const source = cfg.source!
  const client = new RegistryClient(source.registry, cfg.sourceCredentials, undefined, {
    idleTimeoutMs: cfg.idleTimeoutMs
  })
  const reference = source.digest ?? source.tag!
  return {
    source: new RegistrySource(client, source.repository),
    reference,
    shown: `${imageName(source)}@${reference}`,
    facts: []
  }
}

function targetClient(cfg: ImagePushInputs, plan: CopyPlan): RegistryClient {
  // One registry, one account: share the client, and with it the token cache.
  if (
    plan.source instanceof RegistrySource &&
    cfg.source?.registry === cfg.image.registry &&
    cfg.sourceCredentials === cfg.credentials
  )
    return plan.source.client
  return new RegistryClient(cfg.image.registry, cfg.credentials, undefined, {
    idleTimeoutMs: cfg.idleTimeoutMs
  })
}

function referrerLines(name: string, result: PromoteResult): string[] {
  return result.referrers.map((r) =>
    r.kind === 'tag' ? `${name}:${r.reference}` : `${name}@${r.reference}`
  )
}

export async function run(io: ActionIO): Promise<void> {
  const cfg = readInputs(io.inputs)
  const ctx = gitContextOf(io.context)
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
  const buildOptions = {
    name,
    tags,
    labels,
    context: cfg.context,
    file: cfg.file,
    platforms: cfg.platforms,
    buildArgs: cfg.buildArgs,
    ...cfg.build
  }
  const plan = cfg.mode === 'build' ? undefined : await planCopy(cfg)
  if (cfg.dryRun) {
    const text = plan
      ? `copy ${plan.shown} to ${refs.join(', ') || `${name} (by digest)`}`
      : formatCommand(
          buildxArgv(
            buildOptions,
            '<metadata-file>',
            Object.fromEntries(Object.keys(cfg.build.secrets).map((id) => [id, '<secret-file>']))
          )
        )
    io.setOutput('tags', refs.join('\n'))
    await io.writeSummary(dryRunSummary(text, plan?.facts ?? []))
    return
  }
  let digest: string
  const facts: [string, unknown][] = [['mode', cfg.mode]]
  let referrers: string[] = []
  if (!plan) {
    if (cfg.credentials) {
      // Recorded before the login: the post step logs out again even when the job is cancelled
      // or the login fails half-way, so no credential stays on a self-hosted runner.
      io.saveState(STATE_LOGGED_IN, cfg.image.registry)
      await dockerLogin(cfg.image.registry, cfg.credentials.username, cfg.credentials.password)
    }
    digest = await buildAndPush(buildOptions)
  } else {
    const target = { client: targetClient(cfg, plan), repository: cfg.image.repository }
    const result = await log.group(`copy ${plan.shown} to ${name}`, () =>
      copyImage(plan.source, plan.reference, target, tags, { referrers: cfg.copyReferrers })
    )
    digest = result.digest
    referrers = referrerLines(name, result)
    const b = result.blobs
    facts.push(
      ['source', plan.shown],
      ...plan.facts,
      ['manifests', result.manifests],
      [
        'blobs',
        `${b.mounted} mounted, ${b.copied} copied (${b.bytesCopied} bytes), ${b.present} already there` +
          (b.skipped ? `, ${b.skipped} non-distributable left at their URLs` : '')
      ],
      ['verified', 'each tag read back resolves to the source digest'],
      [
        'referrers',
        cfg.mode === 'oci-layout'
          ? 'none looked for (a layout has no registry tags; attestations inside the index were copied with it)'
          : cfg.copyReferrers
            ? `${result.referrers.length} copied (signatures, SBOMs, attestations)`
            : 'not copied (`copy-referrers: false`)'
      ]
    )
  }
  const image = `${name}@${digest}`
  io.setOutput('digest', digest)
  io.setOutput('tags', refs.join('\n'))
  io.setOutput('image', image)
  if (plan) io.setOutput('referrers', referrers.join('\n'))
  await io.writeSummary(pushedSummary({ mode: cfg.mode, image, facts, refs, referrers, labels }))
}

/** Post step: `docker logout` of what the main step logged into (a post step only warns). */
export async function post(io: ActionIO): Promise<void> {
  for (const registry of io.getState(STATE_LOGGED_IN).split('\n').filter(Boolean)) {
    await dockerLogout(registry)
    log.info(`logged out of ${registry}`)
  }
}
