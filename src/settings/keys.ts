/**
 * What a settings file may hold. The shared `deploy:` section is what deploy, canary and rollback
 * must agree on (router, slots, transport, health): inputs of both deploy-bluegreen and
 * canary-promote. test/settings/keys.test.ts checks this list against both action.yml files.
 */
export const SHARED_KEYS: readonly string[] = [
  'router',
  'lock-timeout',
  'haproxy-socket',
  'haproxy-backend',
  'blue-server',
  'green-server',
  'haproxy-state-file',
  'nginx-upstream-file',
  'nginx-upstream-name',
  'nginx-upstream-options',
  'blue-servers',
  'green-servers',
  'nginx-test-command',
  'nginx-reload-command',
  'nginx-mode',
  'nginx-admin',
  'namespace',
  'service',
  'app',
  'slot-label',
  'httproute',
  'canary-ingress',
  'container',
  'rollout-timeout',
  'kubeconfig',
  'context',
  'ssh-host',
  'ssh-user',
  'ssh-known-hosts',
  'health-url-blue',
  'health-url-green',
  'health-checks',
  'health-interval',
  'health-timeout',
  'health-request-timeout',
  'environment',
  'environment-url',
  'error-judgement',
  // what both judge real traffic with (canary: every step; blue-green: after the switch)
  'prometheus-timeout',
  'prometheus-headers',
  'metrics-preset',
  'request-count-query',
  'error-rate-query',
  'latency-query',
  'min-requests'
]

/** Top-level sections: the shared one, then one per action that reads the file. */
export const SECTIONS = ['deploy', 'deploy-bluegreen', 'canary-promote'] as const

/** Inputs that are a per-run choice, never a committed setting. */
export const FILE_REFUSED: Record<string, string> = {
  'settings-file': 'the settings file cannot name another settings file',
  mode: 'the mode is chosen per run (deploy, rollback, status); give it as an input',
  'dry-run': 'a dry run is chosen per run; give it as an input',
  'target-slot': 'the target slot is chosen per run; give it as an input',
  image: 'the image changes with every release; give it as an input',
  // What a release runs lives in the deploy workflow only, so a rollback never redeploys.
  'deploy-command':
    'the deploy command puts a release into a slot: give it in the deploy workflow only, so a rollback (same file) never runs it',
  'pre-switch-command':
    'a migration belongs to one release: give it in the deploy workflow only, so a rollback (same file) never runs it',
  'post-switch-command':
    'a post-switch command belongs to one release: give it in the deploy workflow only, so a rollback (same file) never runs it'
}

/** Secrets never go in a committed file, whatever their name says they are. */
export function isSecretName(name: string): boolean {
  return /(^|-)(token|password|secret|key)$/.test(name)
}

export function isFileRefused(name: string): boolean {
  return name in FILE_REFUSED || isSecretName(name)
}

/** What `ops-actions init` writes where the user must put a hostname or URL. */
export const PLACEHOLDER = 'CHANGE-ME'
