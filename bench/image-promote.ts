/**
 * How long a promotion takes: across two lab registries (bytes streamed) and within one
 * (blobs mounted). Prints figures; run with `npx tsx bench/image-promote.ts [layerMiB] [layers]`.
 */
import { Lab } from '../lab/lab.js'
import { startRegistry } from '../lab/services/registry.js'
import { promoteImage } from '../src/image/promote.js'
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
  const time = async (label: string, fn: () => Promise<unknown>): Promise<void> => {
    const started = performance.now()
    await fn()
    const s = (performance.now() - started) / 1000
    console.log(
      `${label.padEnd(34)} ${s.toFixed(2)} s  (${((layers * layerMiB) / s).toFixed(0)} MiB/s of image)`
    )
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
} finally {
  await lab.stop()
}
