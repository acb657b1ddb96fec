// What KWOK does in place of a kubelet on the lab's one fake node (lab/services/kube.ts).
// KWOK plays "stages": a selector on an object (jq expressions) and the status to write.
import type { KubeDoc } from './kube-api.js'

/** Pods with any container image ending in this run but never become ready (stuck rollout). */
export const STUCK_IMAGE_SUFFIX = ':never-ready'
/**
 * The same for a digest-pinned image of this repository name (`<registry>/never-ready@sha256:...`),
 * which a workflow releases by digest (the deploy workflow's Helm path): no tag to end in.
 */
export const STUCK_IMAGE_REPOSITORY = 'never-ready'

/** The node KWOK manages; the scheduler binds every pod to it. */
export const LAB_NODE: KubeDoc = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name: 'kwok-node-0',
    labels: { 'kubernetes.io/hostname': 'kwok-node-0', type: 'kwok' },
    annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' }
  },
  spec: {}
}

const stuck = `.spec.containers.[] | select( ( .image | endswith("${STUCK_IMAGE_SUFFIX}") ) or ( .image | contains("/${STUCK_IMAGE_REPOSITORY}@sha256:") ) ) | .name`

const podStatus = (ready: boolean): string => `
      {{ $now := Now }}
      conditions:
      - { type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }} }
      - { type: Ready, status: "${ready ? 'True' : 'False'}", lastTransitionTime: {{ $now | Quote }} }
      - { type: ContainersReady, status: "${ready ? 'True' : 'False'}", lastTransitionTime: {{ $now | Quote }} }
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: ${ready}
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      {{ with NodeIPsWith .spec.nodeName }}
      hostIP: {{ index . 0 | Quote }}
      {{ end }}
      {{ with PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
`

const pendingPod = `
    - { key: '.metadata.deletionTimestamp', operator: DoesNotExist }
    - { key: '.status.phase', operator: In, values: [Pending] }`

export const KWOK_STAGES = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef: { apiGroup: v1, kind: Node }
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ["True"]
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
      addresses:
      - { type: InternalIP, address: "127.0.0.1" }
      - { type: Hostname, address: {{ .metadata.name | Quote }} }
      allocatable: { cpu: 1k, memory: 1Ti, pods: 1M }
      capacity: { cpu: 1k, memory: 1Ti, pods: 1M }
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: kwok
        containerRuntimeVersion: kwok
        kernelVersion: kwok
        kubeProxyVersion: kwok
        osImage: kwok
        machineID: ""
        bootID: ""
        systemUUID: ""
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:${pendingPod}
    - { key: '${stuck}', operator: DoesNotExist }
  next:
    statusTemplate: |${podStatus(true)}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-running-never-ready
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:${pendingPod}
    - { key: '${stuck}', operator: Exists }
  next:
    statusTemplate: |${podStatus(false)}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:
    - { key: '.metadata.deletionTimestamp', operator: Exists }
  next:
    delete: true
`
