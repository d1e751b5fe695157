#!/usr/bin/env bash
# Builds kube-apiserver (or the component given as $1: kubelet, kubectl)
# from the k8s.io/kubernetes Go module into a cache outside the repository
# (never committed). Prints the binary path on the last line of stdout; a
# no-op when it exists.
#
# The module's go.mod replaces every k8s.io/* staging module with a
# ./staging/src/k8s.io/... directory that the module zip does not contain:
# in a writable copy those replace lines are pointed at the published
# modules of the matching version (kubernetes v1.X.Y <-> k8s.io/* v0.X.Y).
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
STAGING_VERSION=v0.${K8S_VERSION#v1.}
CACHE=${EBPFTRACE_CACHE:-$HOME/.cache/ebpftrace}
COMPONENT=${1:-kube-apiserver}
case "$COMPONENT" in
kube-apiserver | kubelet | kubectl) ;;
*) echo "build-apiserver.sh: unknown component $COMPONENT" >&2; exit 2 ;;
esac
BIN="$CACHE/bin/$COMPONENT-$K8S_VERSION"
SRC="$CACHE/src/kubernetes-$K8S_VERSION"

log() { echo "build-apiserver.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$CACHE/bin" "$CACHE/src"
exec 9>"$CACHE/build-$COMPONENT.lock"
flock 9
if [ -x "$BIN" ]; then
	echo "$BIN"
	exit 0
fi
command -v go >/dev/null || die "go toolchain not found in PATH"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod
t0=$(date +%s)
log "downloading k8s.io/kubernetes@$K8S_VERSION via the Go module proxy"
json=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION") ||
	die "go mod download failed: $json"
dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || die "no module directory in: $json"
if [ ! -f "$SRC/.prepared" ]; then
	rm -rf "$SRC"
	cp -r "$dir" "$SRC"
	chmod -R u+w "$SRC"
	sed -i -E "s#^(\s*k8s\.io/[a-z0-9-]+) => \./staging/src/k8s\.io/[a-z0-9-]+\$#\1 => \1 $STAGING_VERSION#" \
		"$SRC/go.mod"
	grep -q '=> ./staging' "$SRC/go.mod" && die "staging replace lines left in go.mod"
	touch "$SRC/.prepared"
fi
log "building ./cmd/$COMPONENT (takes minutes)"
(cd "$SRC" && nice go build -o "$BIN.tmp" "./cmd/$COMPONENT") ||
	die "go build ./cmd/$COMPONENT failed"
mv "$BIN.tmp" "$BIN"
log "built $BIN in $(($(date +%s) - t0))s"
echo "$BIN"
