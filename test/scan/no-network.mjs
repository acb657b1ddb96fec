// Preloaded (`node --import`) into a bundle under test: every outbound connection attempt is
// written to NO_NETWORK_LOG and refused before any lookup or packet, so a test can both prove
// that a step needed no network and be sure it sent nothing anywhere.
import { appendFileSync } from 'node:fs'
import net from 'node:net'

net.Socket.prototype.connect = function refuseConnect(...args) {
  const [first, second] = args
  const to =
    typeof first === 'object' && first !== null
      ? `${first.host ?? first.path ?? '?'}:${first.port ?? ''}`
      : `${second ?? 'localhost'}:${first}`
  appendFileSync(process.env.NO_NETWORK_LOG, `${to}\n`)
  process.nextTick(() => this.destroy(new Error(`network disabled by the test (${to})`)))
  return this
}
