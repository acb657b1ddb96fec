#!/usr/bin/env bash
# End-to-end steps for the kubernetes router on a throw-away cluster (kind in CI; any cluster
# the current kubectl context points at). Used by .github/workflows/e2e-kind.yml:
#   e2e-kind.sh setup                      Gateway API CRDs, examples/kubernetes, deployer token, kubectl proxy
#   e2e-kind.sh expect-selector <slot>     Service shop selects <slot>
#   e2e-kind.sh expect-image <slot> <img>  Deployment shop-<slot> runs <img>, rolled out
#   e2e-kind.sh expect-route <blue> <green>  HTTPRoute shop backendRef weights
#   e2e-kind.sh expect-previous <kind/name> <slot>  the router's previous-slot annotation
#   e2e-kind.sh prometheus                 a Prometheus on 127.0.0.1:9090 for the canary's queries
#   e2e-kind.sh dump                       cluster state, for a failed run
set -euo pipefail

NAMESPACE="${NAMESPACE:-shop}"
GATEWAY_API_VERSION="${GATEWAY_API_VERSION:-v1.2.1}"
# Where the least-privilege kubeconfig (service account shop-deployer) is written; the
# workflow passes ${{ runner.temp }}/deployer.kubeconfig to the actions, the same file.
DEPLOYER_KUBECONFIG="${DEPLOYER_KUBECONFIG:-${RUNNER_TEMP:-/tmp}/deployer.kubeconfig}"
PROXY_PORT="${PROXY_PORT:-8001}"
EXAMPLES="$(cd "$(dirname "$0")/../examples/kubernetes" && pwd)"

k() { kubectl -n "$NAMESPACE" "$@"; }

# The canary steps evaluate constant PromQL; any Prometheus answers those, no targets needed.
start_prometheus() {
  command -v prometheus >/dev/null || sudo apt-get install -y -qq prometheus >/dev/null
  sudo systemctl stop prometheus >/dev/null 2>&1 || true
  local dir="${RUNNER_TEMP:-/tmp}/prometheus"
  mkdir -p "$dir"
  printf 'global:\n  scrape_interval: 15s\n' >"$dir/prometheus.yml"
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address=127.0.0.1:9090 >"$dir/prometheus.log" 2>&1 &
  for _ in $(seq 1 30); do
    if curl -fsS http://127.0.0.1:9090/-/ready >/dev/null 2>&1; then
      echo "Prometheus ready on 127.0.0.1:9090"
      return 0
    fi
    sleep 1
  done
  cat "$dir/prometheus.log" >&2
  fail "Prometheus did not start"
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

setup() {
  kubectl apply --server-side -f \
    "https://github.com/kubernetes-sigs/gateway-api/releases/download/${GATEWAY_API_VERSION}/standard-install.yaml"
  kubectl wait --for condition=Established --timeout=60s \
    crd/httproutes.gateway.networking.k8s.io crd/gateways.gateway.networking.k8s.io
  kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -
  k apply -f "$EXAMPLES/bluegreen.yaml" -f "$EXAMPLES/rbac.yaml" \
    -f "$EXAMPLES/httproute.yaml" -f "$EXAMPLES/ingress-nginx-canary.yaml"
  k rollout status deployment/shop-blue --timeout=180s
  k rollout status deployment/shop-green --timeout=180s
  write_deployer_kubeconfig
  start_proxy
}

# The actions run as service account shop-deployer (examples/kubernetes/rbac.yaml), so the
# run also proves that Role is enough.
write_deployer_kubeconfig() {
  local server ca token
  server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
  ca="$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
  token="$(k create token shop-deployer --duration=1h)"
  if [ -n "${GITHUB_ACTIONS:-}" ]; then echo "::add-mask::$token"; fi
  (
    umask 077
    cat >"$DEPLOYER_KUBECONFIG" <<YAML
apiVersion: v1
kind: Config
current-context: deployer
clusters:
  - name: e2e
    cluster:
      server: $server
      certificate-authority-data: $ca
users:
  - name: shop-deployer
    user:
      token: $token
contexts:
  - name: deployer
    context: { cluster: e2e, user: shop-deployer, namespace: $NAMESPACE }
YAML
  )
  echo "wrote $DEPLOYER_KUBECONFIG (service account $NAMESPACE/shop-deployer)"
}

# Health and verify URLs reach the slot Services through the API server's service proxy, which
# picks a ready endpoint per request (a port-forward would stick to one pod and break when the
# image rollout replaces it).
start_proxy() {
  kubectl proxy --address=127.0.0.1 --port="$PROXY_PORT" >"${RUNNER_TEMP:-/tmp}/kubectl-proxy.log" 2>&1 &
  for _ in $(seq 1 30); do
    if curl -fsS "http://127.0.0.1:$PROXY_PORT/api/v1/namespaces/$NAMESPACE/services/shop-blue:80/proxy/hostname" >/dev/null 2>&1; then
      echo "kubectl proxy on 127.0.0.1:$PROXY_PORT reaches shop-blue"
      return 0
    fi
    sleep 1
  done
  fail "kubectl proxy did not reach Service shop-blue within 30s"
}

expect_selector() {
  local got
  got="$(k get service shop -o jsonpath='{.spec.selector.slot}')"
  echo "Service shop selects slot=$got (expected $1)"
  [ "$got" = "$1" ] || fail "Service shop selects $got, expected $1"
}

expect_image() {
  local got
  got="$(k get deployment "shop-$1" -o jsonpath='{.spec.template.spec.containers[0].image}')"
  echo "Deployment shop-$1 image=$got (expected $2)"
  [ "$got" = "$2" ] || fail "Deployment shop-$1 runs $got, expected $2"
  k rollout status "deployment/shop-$1" --timeout=10s
}

expect_route() {
  local got
  got="$(k get httproute shop -o jsonpath='{range .spec.rules[0].backendRefs[*]}{.name}={.weight} {end}')"
  echo "HTTPRoute shop: $got(expected shop-blue=$1 shop-green=$2)"
  [ "$got" = "shop-blue=$1 shop-green=$2 " ] || fail "HTTPRoute shop weights are $got"
}

expect_previous() {
  local got
  got="$(k get "$1" -o jsonpath='{.metadata.annotations.ops-actions\.io/previous-slot}')"
  echo "$1 previous-slot=$got (expected $2)"
  [ "$got" = "$2" ] || fail "$1 records previous slot $got, expected $2"
}

dump() {
  k get deployments,replicasets,pods,services,endpoints,httproutes,ingresses -o wide || true
  k get service shop httproute/shop -o yaml || true
  k describe deployment shop-blue shop-green || true
  cat "${RUNNER_TEMP:-/tmp}/kubectl-proxy.log" 2>/dev/null || true
}

case "${1:-}" in
  setup) setup ;;
  expect-selector) expect_selector "$2" ;;
  expect-image) expect_image "$2" "$3" ;;
  expect-route) expect_route "$2" "$3" ;;
  expect-previous) expect_previous "$2" "$3" ;;
  prometheus) start_prometheus ;;
  dump) dump ;;
  *) fail "usage: $0 setup | expect-selector <slot> | expect-image <slot> <image> | expect-route <blue> <green> | expect-previous <kind/name> <slot> | prometheus | dump" ;;
esac
