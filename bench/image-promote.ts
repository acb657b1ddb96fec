/**
 * How long a promotion takes: across two lab registries (bytes streamed) and within one
 * (blobs mounted), and an OCI layout push next to crane's push of the same layout (the
 * baseline, same run). Prints figures; run with `npx tsx bench/image-promote.ts [layerMiB] [layers]`.
 */
import { execFileSync } from 'node:child_process'
import { enginePath } from '../lab/engines.js'
import { Lab } from '../lab/lab.js'
import { startRegistry } from '../lab/services/registry.js'
import { OciLayoutSource } from '../src/image/oci-layout.js'
import { copyImage, promoteImage } from '../src/image/promote.js'
import { RegistryClient } from '../src/image/registry-client.js'
import { pushImage } from '../test/image-push/upload.js'

const layerMiB = Number(process.argv[2] ?? 16)
const layers = Number(process.argv[3] ?? 4)
const lab = Lab.create()
try {
  const a = await startRegistry(lab, 'bench-a')
  const b = await startRegistry(lab, 'bench-b')
  const image = await pushImage(a, 'bench/app', 'src', {
    layers,
    layerBytes: layerMiB * 1024 * 1024
  })
  const mib = (layers * layerMiB).toFixed(0)
  const time = async (label: string, fn: () => Promise<unknown>): Promise<number> => {
    const started = performance.now()
    await fn()
    const s = (performance.now() - started) / 1000
    console.log(
      `${label.padEnd(34)} ${s.toFixed(2)} s  (${((layers * layerMiB) / s).toFixed(0)} MiB/s of image)`
    )
    return s
  }
  console.log(`image: ${layers} layers x ${layerMiB} MiB = ${mib} MiB`)
  const clientA = new RegistryClient(a.host)
  const source = { client: clientA, repository: 'bench/app', reference: image.digest }
  await time('copy across registries', () =>
    promoteImage(source, { client: new RegistryClient(b.host), repository: 'prod/app' }, ['1'])
  )
  await time('mount within one registry', () =>
    promoteImage(source, { client: clientA, repository: 'prod/app' }, ['1'])
  )
  await time('re-promote (all blobs present)', () =>
    promoteImage(source, { client: new RegistryClient(b.host), repository: 'prod/app' }, ['2'])
  )
  const crane = (...args: string[]) =>
    execFileSync(enginePath('crane'), [...args, '--insecure'], { stdio: 'pipe', timeout: 600_000 })
  const dir = lab.path('layout')
  crane('pull', '--format=oci', `${a.host}/bench/app@${image.digest}`, dir)
  const layout = OciLayoutSource.open(dir)
  const top = layout.select()
  const ours = await time('oci-layout push (check + upload)', async () => {
    await layout.check(top)
    await copyImage(
      layout,
      top.digest,
      { client: new RegistryClient(b.host), repository: 'layout/ours' },
      ['1']
    )
  })
  const theirs = await time('crane push of the same layout', async () =>
    crane('push', dir, `${b.host}/layout/crane:1`)
  )
  console.log(`oci-layout push / crane push: ${(ours / theirs).toFixed(2)}x the time`)
} finally {
  await lab.stop()
}
