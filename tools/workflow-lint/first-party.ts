/**
 * How workflows refer to this repository. Reusable workflows run in the CALLER's repository,
 * so `./actions/x` inside them would point at the caller's code: they (and the templates)
 * use `example-org/ops-actions/...@v1`, and adopters replace `example-org` with their org.
 * Only this repository's own CI may use `./actions/x` (it tests the checked-out commit).
 */
export const FIRST_PARTY_ORG_PLACEHOLDER = 'example-org'
export const FIRST_PARTY_REPO = 'ops-actions'

// Any owner: an adopter's fork (`acme/ops-actions`) is still first party.
const REMOTE_ACTION = new RegExp(`^[\\w.-]+/${FIRST_PARTY_REPO}/actions/([\\w.-]+)@[\\w./-]+$`)
const LOCAL_ACTION = /^\.\/actions\/([\w.-]+)\/?$/
const REMOTE_WORKFLOW = new RegExp(
  `^[\\w.-]+/${FIRST_PARTY_REPO}/\\.github/workflows/([\\w.-]+\\.ya?ml)@[\\w./-]+$`
)
const LOCAL_WORKFLOW = /^\.\/\.github\/workflows\/([\w.-]+\.ya?ml)$/

/** `example-org/ops-actions/actions/deploy-bluegreen@v1` or `./actions/deploy-bluegreen` -> `deploy-bluegreen`. */
export function firstPartyAction(uses: string): string | undefined {
  return (REMOTE_ACTION.exec(uses) ?? LOCAL_ACTION.exec(uses))?.[1]
}

/** `example-org/ops-actions/.github/workflows/deploy.yml@v1` or `./.github/workflows/deploy.yml` -> `deploy.yml`. */
export function firstPartyWorkflow(uses: string): string | undefined {
  return (REMOTE_WORKFLOW.exec(uses) ?? LOCAL_WORKFLOW.exec(uses))?.[1]
}

export function isFirstParty(uses: string): boolean {
  return (
    firstPartyAction(uses) !== undefined ||
    firstPartyWorkflow(uses) !== undefined ||
    new RegExp(`^[\\w.-]+/${FIRST_PARTY_REPO}(/|@)`).test(uses)
  )
}
