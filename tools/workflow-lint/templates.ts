/**
 * Starter workflows (`workflow-templates/NAME.yml`): each has `NAME.properties.json` with the
 * fields GitHub reads, and names the default branch as `$default-branch`, which GitHub replaces
 * with the adopting repository's default branch when the template is copied.
 */
import type { Finding } from './finding.js'
import { asSeq, child, entries, text, type YamlFile } from './yaml-doc.js'

export interface TemplateProperties {
  name?: unknown
  description?: unknown
  iconName?: unknown
  categories?: unknown
  filePatterns?: unknown
}

const HARD_CODED_DEFAULT = new Set(['main', 'master'])

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string')
}

/**
 * `properties` is the parsed JSON (undefined when the file is missing); `iconExists` tells whether
 * `workflow-templates/<iconName>.svg` exists.
 */
export function checkProperties(
  file: string,
  properties: TemplateProperties | undefined,
  iconExists: (icon: string) => boolean
): Finding[] {
  const at = (message: string): Finding => ({
    file,
    line: 1,
    column: 1,
    rule: 'template-properties',
    message
  })
  if (properties === undefined)
    return [at('missing: each template needs NAME.properties.json next to it')]
  const findings: Finding[] = []
  for (const key of ['name', 'description'] as const) {
    const v = properties[key]
    if (typeof v !== 'string' || v.trim() === '')
      findings.push(at(`\`${key}\` is required (a non-empty string)`))
  }
  const icon = properties.iconName
  if (
    icon !== undefined &&
    !(typeof icon === 'string' && (icon.startsWith('octicon ') || iconExists(icon)))
  ) {
    findings.push(
      at(
        `iconName \`${String(icon)}\`: expected \`octicon <name>\` or an SVG in workflow-templates/`
      )
    )
  }
  for (const key of ['categories', 'filePatterns'] as const) {
    const v = properties[key]
    if (v === undefined) findings.push(at(`\`${key}\` is expected (an array of strings)`))
    else if (!isStringArray(v)) findings.push(at(`\`${key}\` must be an array of strings`))
  }
  for (const pattern of isStringArray(properties.filePatterns) ? properties.filePatterns : []) {
    try {
      new RegExp(pattern)
    } catch {
      findings.push(at(`filePatterns: \`${pattern}\` is not a valid regular expression`))
    }
  }
  return findings
}

/** Branch filters in a template name `$default-branch`, never a hard-coded main/master. */
export function checkDefaultBranch(y: YamlFile): Finding[] {
  const on = child(y.doc.contents, 'on')
  return entries(on).flatMap(([, trigger]) =>
    (asSeq(child(trigger, 'branches'))?.items ?? [])
      .filter((b) => HARD_CODED_DEFAULT.has(text(b) ?? ''))
      .map((b) =>
        y.at(
          b,
          'default-branch',
          `branch \`${text(b)}\`: write \`$default-branch\` so the template follows the adopter's default branch`
        )
      )
  )
}
