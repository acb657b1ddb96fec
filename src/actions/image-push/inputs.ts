import { ConfigurationError } from '../../core/errors.js'
import type { Inputs } from '../../core/inputs.js'
import { log } from '../../core/log.js'
import type { Credentials } from '../../image/auth.js'
import type { BuildRequest } from '../../image/buildx.js'
import { parseImageRef, type ImageRef } from '../../image/reference.js'
import { validateTagRules, type Latest } from '../../image/tags.js'

export const MODES = ['build', 'promote', 'oci-layout'] as const

/** buildx's options that build-push-action users know as inputs: all given, build mode only. */
type BuildxExtras = Required<
  Pick<BuildRequest, 'cacheFrom' | 'cacheTo' | 'annotations' | 'secrets'>
> &
  Pick<BuildRequest, 'provenance' | 'sbom' | 'target'>

export interface ImagePushInputs extends Pick<
  BuildRequest,
  'labels' | 'context' | 'file' | 'platforms' | 'buildArgs'
> {
  mode: (typeof MODES)[number]
  image: ImageRef
  tagRules: string[]
  latest: Latest
  /** build-push-action's inputs, build mode only. */
  build: BuildxExtras
  source?: ImageRef
  /** mode oci-layout: the layout directory, and which of its images (by ref name or digest). */
  ociLayout?: string
  ociLayoutRef?: string
  copyReferrers: boolean
  idleTimeoutMs: number
  credentials?: Credentials
  sourceCredentials?: Credentials
  dryRun: boolean
}

function credentials(inputs: Inputs, user: string, pass: string): Credentials | undefined {
  const username = inputs.optional(user)
  const password = inputs.optional(pass)
  log.secret(password)
  if (!username && !password) return undefined
  if (!username || !password) {
    throw new ConfigurationError(
      `inputs \`${user}\` and \`${pass}\` go together: give both or neither`,
      username ? pass : user
    )
  }
  return { username, password }
}

function keyValues(inputs: Inputs, name: string): string[] {
  const lines = inputs.lines(name)
  for (const line of lines) {
    if (!/^[^=\s]+=/.test(line))
      throw new ConfigurationError(
        `input \`${name}\` = \`${line}\`: expected KEY=value, one per line`,
        name
      )
  }
  return lines
}

const BUILD_ONLY = [
  'cache-from',
  'cache-to',
  'provenance',
  'sbom',
  'target',
  'annotations',
  'secrets'
]

function checked(inputs: Inputs, name: string, pattern: RegExp, accepted: string): string[] {
  const lines = inputs.lines(name)
  for (const line of lines)
    if (!pattern.test(line))
      throw new ConfigurationError(`input \`${name}\` = \`${line}\`: ${accepted}`, name)
  return lines
}

/** build-push-action's build inputs, each checked before buildx sees it. */
function buildInputs(inputs: Inputs): ImagePushInputs['build'] {
  const attestation = (name: string): string | undefined => {
    const value = inputs.optional(name)
    if (value === undefined) return undefined
    if (!/^(true|false|[a-z-]+=[^,\s]+(,[a-z-]+=[^,\s]+)*)$/.test(value))
      throw new ConfigurationError(
        `input \`${name}\` = \`${value}\`: expected true, false or buildx attestation options such as mode=max`,
        name
      )
    return value
  }
  const target = inputs.optional('target')
  if (target !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(target))
    throw new ConfigurationError(
      `input \`target\` = \`${target}\`: expected a Dockerfile stage name (letters, digits, _ . -)`,
      'target'
    )
  const secrets: Record<string, string> = {}
  for (const line of inputs.lines('secrets')) {
    const eq = line.indexOf('=')
    const id = line.slice(0, eq)
    if (eq <= 0 || !/^[A-Za-z0-9_.-]+$/.test(id))
      throw new ConfigurationError(
        `input \`secrets\`: each line is id=value with an id of letters, digits, _ . - (line ${Object.keys(secrets).length + 1})`,
        'secrets'
      )
    secrets[id] = line.slice(eq + 1)
    log.secret(secrets[id])
  }
  const cache = /^type=[a-z0-9-]+(,[a-z0-9_-]+=[^,\s]*)*$/
  return {
    cacheFrom: checked(
      inputs,
      'cache-from',
      cache,
      'expected buildx cache options such as type=gha or type=registry,ref=ghcr.io/org/app:cache'
    ),
    cacheTo: checked(
      inputs,
      'cache-to',
      cache,
      'expected buildx cache options such as type=gha,mode=max'
    ),
    provenance: attestation('provenance'),
    sbom: attestation('sbom'),
    target,
    annotations: checked(
      inputs,
      'annotations',
      /^((index|manifest|index-descriptor|manifest-descriptor)(\[[a-z0-9/,-]+\])?:)?[A-Za-z0-9][A-Za-z0-9._-]*=/,
      'expected [index:|manifest:]key=value, e.g. index:org.opencontainers.image.description=My app'
    ),
    secrets
  }
}

/** `latest`: true / false as before, or `auto` (metadata-action's spelling of the same rule). */
function latestInput(inputs: Inputs): Latest {
  const value = inputs.enum(
    'latest',
    ['true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'auto'] as const,
    'false'
  )
  return value === 'auto' ? 'auto' : value.toLowerCase() === 'true'
}

export function readInputs(inputs: Inputs): ImagePushInputs {
  const creds = credentials(inputs, 'username', 'password')
  const sourceCreds = credentials(inputs, 'source-username', 'source-password')
  const mode = inputs.enum('mode', MODES, 'build')
  const image = parseImageRef('image', inputs.required('image'))
  if (image.tag || image.digest) {
    throw new ConfigurationError(
      `input \`image\` = \`${inputs.raw('image')}\`: give the repository only; tags come from \`tags\``,
      'image'
    )
  }
  const tagRules = inputs.lines('tags')
  validateTagRules('tags', tagRules)
  const labels: Record<string, string> = {}
  for (const line of keyValues(inputs, 'labels'))
    labels[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
  const source = inputs.has('source') ? parseImageRef('source', inputs.raw('source')) : undefined
  if (mode === 'promote') {
    if (!source)
      throw new ConfigurationError('input `source` is required when `mode` is `promote`', 'source')
    if (!source.digest && !source.tag) {
      throw new ConfigurationError(
        `input \`source\` = \`${inputs.raw('source')}\`: name the image by digest (name@sha256:…) or tag`,
        'source'
      )
    }
  }
  if (mode !== 'promote' && source)
    throw new ConfigurationError('input `source` is only for `mode: promote`', 'source')
  if (mode !== 'build')
    for (const name of BUILD_ONLY)
      if (inputs.has(name))
        throw new ConfigurationError(`input \`${name}\` is only for \`mode: build\``, name)
  const ociLayout = inputs.optional('oci-layout')
  const ociLayoutRef = inputs.optional('oci-layout-ref')
  if (mode === 'oci-layout' && !ociLayout) {
    throw new ConfigurationError(
      'input `oci-layout` is required when `mode` is `oci-layout`: the directory written by e.g. `docker buildx build --output type=oci,dest=out,tar=false`',
      'oci-layout'
    )
  }
  if (mode !== 'oci-layout' && (ociLayout || ociLayoutRef)) {
    throw new ConfigurationError(
      `input \`${ociLayout ? 'oci-layout' : 'oci-layout-ref'}\` is only for \`mode: oci-layout\``,
      ociLayout ? 'oci-layout' : 'oci-layout-ref'
    )
  }
  const idleTimeoutMs = inputs.duration('idle-timeout', '60s')
  if (idleTimeoutMs < 1000 || idleTimeoutMs > 3_600_000) {
    throw new ConfigurationError(
      `input \`idle-timeout\` = \`${inputs.raw('idle-timeout')}\`: expected a duration from 1s to 1h`,
      'idle-timeout'
    )
  }
  return {
    mode,
    image,
    tagRules,
    latest: latestInput(inputs),
    labels,
    context: inputs.optional('context') ?? '.',
    file: inputs.optional('file'),
    platforms: inputs.list('platforms'),
    buildArgs: keyValues(inputs, 'build-args'),
    build: buildInputs(inputs),
    source,
    ...(ociLayout && { ociLayout }),
    ...(ociLayoutRef && { ociLayoutRef }),
    copyReferrers: inputs.boolean('copy-referrers', true),
    idleTimeoutMs,
    credentials: creds,
    // Same registry, no separate account given: the target's account reads the source too.
    sourceCredentials: sourceCreds ?? (source?.registry === image.registry ? creds : undefined),
    dryRun: inputs.boolean('dry-run')
  }
}
