/** Rules for action.yml: what the workflow rules check, applied to composite steps, plus runtime. */
import type { Finding } from './finding.js'
import { injectionFindings, usesFinding } from './workflow-rules.js'
import { readStep, type StepView } from './workflow-model.js'
import { asSeq, child, text, type YamlFile } from './yaml-doc.js'
import type { Node } from 'yaml'

const RUNTIMES = new Set(['node24', 'node20', 'composite', 'docker'])

function compositeSteps(y: YamlFile): StepView[] {
  const steps = asSeq(child(child(y.doc.contents, 'runs'), 'steps'))?.items ?? []
  return steps.map((node) => readStep(node as Node))
}

export function checkAction(y: YamlFile): Finding[] {
  const findings: Finding[] = []
  const runs = child(y.doc.contents, 'runs')
  const using = text(child(runs, 'using'))
  if (using === undefined || !RUNTIMES.has(using)) {
    findings.push(
      y.at(
        child(runs, 'using') ?? runs,
        'runtime',
        `runs.using \`${using}\`: expected one of ${[...RUNTIMES].join(', ')}`
      )
    )
  }
  const steps = compositeSteps(y)
  for (const step of steps) {
    if (step.run !== undefined && child(step.node, 'shell') === undefined) {
      findings.push(y.at(step.node, 'composite-shell', 'composite `run` step without `shell`'))
    }
    if (step.uses !== undefined) {
      const f = usesFinding(y, step.usesNode, step.uses)
      if (f) findings.push(f)
    }
  }
  return [...findings, ...injectionFindings(y, steps, 'composite step')]
}
