import { Summary } from '../../core/summary.js'

/** The command or copy a run would do, and nothing pushed. */
export function dryRunSummary(text: string, facts: [string, unknown][]): string {
  const summary = new Summary().heading('Image push: dry run (nothing pushed)').code(text)
  if (facts.length) summary.facts(facts)
  return summary.toMarkdown()
}

export interface PushedImage {
  mode: 'build' | 'promote' | 'oci-layout'
  /** `name@digest` */
  image: string
  facts: [string, unknown][]
  refs: string[]
  referrers: string[]
  labels: Record<string, string>
}

const TITLE: Record<PushedImage['mode'], string> = {
  build: 'built and pushed',
  promote: 'promoted',
  'oci-layout': 'pushed from an OCI layout'
}

/** What was pushed: the image by digest, how, its tags, referrers copied and labels. */
export function pushedSummary(p: PushedImage): string {
  const summary = new Summary()
  summary.heading(`Image ${TITLE[p.mode]}`).facts([['image', `\`${p.image}\``], ...p.facts])
  summary
    .heading('Tags', 3)
    .list(p.refs.length ? p.refs.map((r) => `\`${r}\``) : ['(by digest only)'])
  if (p.referrers.length > 0)
    summary.heading('Referrers copied', 3).list(p.referrers.map((r) => `\`${r}\``))
  if (p.mode === 'build')
    summary.heading('Labels', 3).table(['label', 'value'], Object.entries(p.labels))
  return summary.toMarkdown()
}
