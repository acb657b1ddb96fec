import type { ActionStep } from '../core/action.js'
import { run as backupVerify } from '../actions/backup-verify/main.js'
import { run as buildGate } from '../actions/build-gate/main.js'
import { post as canaryPost, run as canaryPromote } from '../actions/canary-promote/main.js'
import { run as deployBlueGreen } from '../actions/deploy-bluegreen/main.js'
import { post as imagePushPost, run as imagePush } from '../actions/image-push/main.js'
import { run as securityScan } from '../actions/security-scan/main.js'
import { run as sloReport } from '../actions/slo-report/main.js'

/** The same entry points as the bundles' index.ts (main, and post where action.yml has one). */
export const ACTIONS: Record<string, { run: ActionStep; post?: ActionStep }> = {
  'backup-verify': { run: backupVerify },
  'build-gate': { run: buildGate },
  'canary-promote': { run: canaryPromote, post: canaryPost },
  'deploy-bluegreen': { run: deployBlueGreen },
  'image-push': { run: imagePush, post: imagePushPost },
  'security-scan': { run: securityScan },
  'slo-report': { run: sloReport }
}
