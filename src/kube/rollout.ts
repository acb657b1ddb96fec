import { formatDuration, sleep } from '../core/duration.js'
import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import { describeRef, type KubeClient, type KubeObject, type ObjectRef } from './client.js'

export type RolloutStatus =
  { done: true; detail: string } | { done: false; failed: boolean; detail: string }

interface DeploymentStatus {
  observedGeneration?: number
  replicas?: number
  updatedReplicas?: number
  availableReplicas?: number
  conditions?: { type: string; status: string; reason?: string; message?: string }[]
}

/** The same test as `kubectl rollout status deployment/<name>`, on one read of the object. */
export function rolloutStatus(d: KubeObject): RolloutStatus {
  const status = (d.status ?? {}) as DeploymentStatus
  const wanted = typeof d.spec?.replicas === 'number' ? d.spec.replicas : 1
  const updated = status.updatedReplicas ?? 0
  const total = status.replicas ?? 0
  const available = status.availableReplicas ?? 0
  const counts = `${updated}/${wanted} updated, ${available} available, ${total} total`
  // As kubectl: a condition describes the last generation the controller saw, so a timeout of
  // the previous rollout must not fail the new spec before the controller has looked at it.
  if ((status.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
    return { done: false, failed: false, detail: 'waiting for the controller to see the new spec' }
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing')
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      done: false,
      failed: true,
      detail: `progress deadline exceeded (${counts}): ${progressing.message ?? ''}`
    }
  }
  if (updated < wanted) return { done: false, failed: false, detail: counts }
  if (total > updated)
    return { done: false, failed: false, detail: `old replicas still terminating (${counts})` }
  if (available < updated) return { done: false, failed: false, detail: counts }
  return { done: true, detail: counts }
}

/** Index of the container to update: the named one, else the only one. */
export function pickContainer(
  d: KubeObject,
  name: string | undefined
): { index: number; name: string; image: string } {
  const template = d.spec?.template as
    { spec?: { containers?: { name: string; image: string }[] } } | undefined
  const containers = template?.spec?.containers ?? []
  const index =
    name === undefined
      ? containers.length === 1
        ? 0
        : -1
      : containers.findIndex((c) => c.name === name)
  if (index < 0) {
    const names = containers.map((c) => c.name).join(', ') || 'none'
    throw new ToolError(
      name === undefined
        ? `Deployment ${d.metadata.name} has ${containers.length} containers (${names}); set input \`container\` to say which gets the image`
        : `Deployment ${d.metadata.name} has no container \`${name}\` (containers: ${names})`
    )
  }
  return { index, name: containers[index].name, image: containers[index].image }
}

const POLL_MS = 250

/**
 * Sets the image of one container and waits for the rollout, bounded by `timeoutMs`. The JSON
 * patch tests the container's name first, so a reordered pod spec fails instead of updating
 * the wrong container. Setting the image it already has is a no-op rollout.
 */
export async function setImageAndWait(
  client: KubeClient,
  ref: ObjectRef,
  container: string | undefined,
  image: string,
  timeoutMs: number
): Promise<void> {
  const where = describeRef(ref)
  const before = await client.get(ref)
  const target = pickContainer(before, container)
  if (target.image !== image) {
    const base = `/spec/template/spec/containers/${target.index}`
    await client.jsonPatch(ref, [
      { op: 'test', path: `${base}/name`, value: target.name },
      { op: 'replace', path: `${base}/image`, value: image }
    ])
    log.info(`${where}: container ${target.name} image ${target.image} -> ${image}`)
  } else {
    log.info(`${where}: container ${target.name} already runs ${image}; checking its rollout`)
  }
  const started = Date.now()
  let last = ''
  for (;;) {
    const status = rolloutStatus(await client.get(ref))
    if (status.done) {
      log.info(`${where}: rolled out in ${formatDuration(Date.now() - started)} (${status.detail})`)
      return
    }
    if (status.failed) throw new ToolError(`${where}: rollout of ${image} failed: ${status.detail}`)
    if (status.detail !== last) log.info(`${where}: ${status.detail}`)
    last = status.detail
    if (Date.now() - started >= timeoutMs) {
      throw new ToolError(
        `${where}: rollout of ${image} not finished after ${formatDuration(timeoutMs)} (${status.detail}); ` +
          'traffic was not moved. Check `kubectl describe` of its pods (image pull, readiness probe), or raise rollout-timeout'
      )
    }
    await sleep(POLL_MS)
  }
}
