{{/* The app name: .Values.app or the release name (DNS-1035, at most 57 so -green fits 63). */}}
{{- define "sample-service.app" -}}
{{- $app := default .Release.Name .Values.app -}}
{{- if not (regexMatch "^[a-z]([-a-z0-9]{0,55}[a-z0-9])?$" $app) -}}
{{- fail (printf "app %q: expected a DNS-1035 label of at most 57 characters (lower-case letters, digits, -, starting with a letter)" $app) -}}
{{- end -}}
{{- $app -}}
{{- end -}}

{{- define "sample-service.labels" -}}
app.kubernetes.io/name: {{ include "sample-service.app" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
The slot the live Service selects. The router (ops-actions deploy-bluegreen / canary-promote)
switches it in the cluster; an upgrade that rendered .Values.liveSlot again would move traffic
back behind the router's back. So once the Service exists, its current selector wins.
(`lookup` is empty under `helm template` and --dry-run: then the value is used.)
*/}}
{{- define "sample-service.liveSlot" -}}
{{- $slot := .Values.liveSlot -}}
{{- $svc := lookup "v1" "Service" .Release.Namespace (include "sample-service.app" .) -}}
{{- if $svc -}}
{{- $current := get (default dict $svc.spec.selector) .Values.slotLabel -}}
{{- if has $current (list "blue" "green") -}}{{- $slot = $current -}}{{- end -}}
{{- end -}}
{{- if not (has $slot (list "blue" "green")) -}}
{{- fail (printf "liveSlot %q: expected blue or green" $slot) -}}
{{- end -}}
{{- $slot -}}
{{- end -}}

{{/* The HTTPRoute weights as JSON {"blue":n,"green":m}: the cluster's, once the route exists. */}}
{{- define "sample-service.weights" -}}
{{- $app := include "sample-service.app" . -}}
{{- $w := dict "blue" (int .Values.httpRoute.weights.blue) "green" (int .Values.httpRoute.weights.green) -}}
{{- $route := lookup "gateway.networking.k8s.io/v1" "HTTPRoute" .Release.Namespace $app -}}
{{- if $route -}}
{{- range $rule := $route.spec.rules -}}
{{- range $ref := $rule.backendRefs -}}
{{- /* Gateway API's default weight is 1; `default` would also turn a real 0 into 1. */ -}}
{{- $weight := ternary $ref.weight 1 (hasKey $ref "weight") -}}
{{- if eq $ref.name (printf "%s-blue" $app) -}}{{- $_ := set $w "blue" (int $weight) -}}{{- end -}}
{{- if eq $ref.name (printf "%s-green" $app) -}}{{- $_ := set $w "green" (int $weight) -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $w -}}
{{- end -}}
