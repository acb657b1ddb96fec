/**
 * Renders a job summary as GitHub shows it: GitHub-flavoured Markdown (marked, GFM on) in
 * GitHub's own Markdown CSS, with ```mermaid blocks drawn by Mermaid, as one standalone HTML
 * page; and screenshots that page with headless Chromium (Debian's `chromium`), so a person and
 * a test can look at what a summary really shows. Used by the demo and test/summaries.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { marked } from 'marked'
import { REPO_ROOT } from './act.js'

const run = promisify(execFile)
const modules = join(REPO_ROOT, 'node_modules')

/** GitHub renders ```mermaid fences as diagrams; marked gives <pre><code class="language-mermaid">. */
function mermaidBlocks(html: string): string {
  return html.replace(
    /<pre><code class="language-mermaid">([\s\S]*?)<\/code><\/pre>/g,
    (_m, body: string) => `<pre class="mermaid">${body}</pre>`
  )
}

export function summaryHtml(title: string, markdown: string): string {
  const body = mermaidBlocks(marked.parse(markdown, { gfm: true, async: false }) as string)
  const css = readFileSync(
    join(modules, 'github-markdown-css', 'github-markdown-light.css'),
    'utf8'
  )
  const mermaid = readFileSync(join(modules, 'mermaid', 'dist', 'mermaid.min.js'), 'utf8')
  const escaped = title.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!)
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escaped}</title>
<style>${css}
body { margin: 0; background: #fff; }
.markdown-body { box-sizing: border-box; max-width: 980px; margin: 0 auto; padding: 32px; }
</style></head>
<body><article class="markdown-body">${body}</article>
<script>${mermaid}</script>
<script>
mermaid.initialize({ startOnLoad: false, theme: 'default' })
mermaid.run({ querySelector: 'pre.mermaid' }).finally(() => { document.body.dataset.rendered = 'yes' })
</script>
</body></html>
`
}

export function writeSummaryPage(file: string, title: string, markdown: string): void {
  writeFileSync(file, summaryHtml(title, markdown))
}

export function chromiumPath(): string | undefined {
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))
}

const chromiumArgs = (extra: string[], page: string): string[] => [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  // Nothing leaves this machine: the page is a local file with everything inlined.
  '--host-resolver-rules=MAP * ~NOTFOUND',
  '--virtual-time-budget=10000',
  ...extra,
  `file://${page}`
]

/** The DOM after the page's scripts ran (Mermaid drawn), for assertions. */
export async function renderedDom(page: string): Promise<string> {
  const chromium = chromiumPath()
  if (!chromium) throw new Error('chromium is not installed: run bash scripts/setup.sh')
  const { stdout } = await run(chromium, chromiumArgs(['--dump-dom'], page), {
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024
  })
  return stdout
}

/** A PNG of the page as a browser shows it, 1000 px wide. */
export async function screenshot(page: string, png: string, height = 1600): Promise<void> {
  const chromium = chromiumPath()
  if (!chromium) throw new Error('chromium is not installed: run bash scripts/setup.sh')
  await run(chromium, chromiumArgs([`--screenshot=${png}`, `--window-size=1000,${height}`], page), {
    timeout: 60_000
  })
}
