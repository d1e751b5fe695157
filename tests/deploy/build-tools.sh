#!/usr/bin/env bash
# Builds the tools the deployment checks need into a cache outside the
# repository. Usage: tests/deploy/build-tools.sh <helm|k8svalidate>
#
#   helm         Helm, from its Go module (helm.sh/helm/v3) through the Go
#                module proxy: the extracted module (read-only) is copied to
#                a writable directory and `go build ./cmd/helm` runs there.
#   k8svalidate  the project's manifest validator (tests/tools/k8svalidate,
#                its own go.mod); the binary name carries a hash of its
#                sources, so an edit rebuilds it and an unchanged tree
#                reuses the cached binary.
#
# Prints the binary path on the last line of stdout. No-op when it exists.
set -euo pipefail

HELM_MODULE=helm.sh/helm/v3
HELM_VERSION=v3.22.0

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${EBPFTRACE_CACHE:-$HOME/.cache/ebpftrace}
NAME=${1:-}

log() { echo "build-tools.sh[$NAME]: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case "$NAME" in
helm | k8svalidate) ;;
*) echo "usage: $0 <helm|k8svalidate>" >&2; exit 2 ;;
esac

mkdir -p "$CACHE/bin" "$CACHE/src"
# Serialise concurrent builds of the same tool (parallel test runs).
exec 9>"$CACHE/build-$NAME.lock"
flock 9

command -v go >/dev/null || die "go toolchain not found in PATH"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${TOOLS_GOFLAGS:--mod=mod}"

build_helm() {
	local bin="$CACHE/bin/helm-$HELM_VERSION" src="$CACHE/src/helm-$HELM_VERSION"
	if [ -x "$bin" ]; then
		log "cached: $bin"
		echo "$bin"
		return
	fi
	local t0 json dir
	t0=$(date +%s)
	log "downloading $HELM_MODULE@$HELM_VERSION via the Go module proxy"
	json=$(go mod download -json "$HELM_MODULE@$HELM_VERSION") ||
		die "go mod download $HELM_MODULE@$HELM_VERSION failed: $json"
	case "$json" in *'"Error"'*) die "go mod download reported an error: $json" ;; esac
	dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("Dir", ""))' <<<"$json")
	[ -d "$dir" ] || die "module directory missing: '$dir'"
	if [ ! -f "$src/.copied" ]; then
		log "copying sources to $src"
		rm -rf "$src"
		cp -r "$dir" "$src"
		chmod -R u+w "$src"
		touch "$src/.copied"
	fi
	log "building ./cmd/helm (this takes several minutes)"
	(
		cd "$src"
		# As Helm's own Makefile: the version, and the Kubernetes version
		# `helm template` and `helm lint` assume (from client-go v0.X.Y:
		# 1.X), without which they assume 1.20.
		local k8s major minor
		k8s=$(go list -m -f '{{.Version}}' k8s.io/client-go) ||
			die "cannot read the client-go version of $src/go.mod"
		k8s=${k8s#v}
		major=$((${k8s%%.*} + 1))
		minor=$(cut -d. -f2 <<<"$k8s")
		go build -p "$(nproc)" -trimpath -buildvcs=false -ldflags="-s -w \
			-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
			-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major \
			-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor \
			-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major \
			-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor" \
			-o "$bin.tmp" ./cmd/helm
	) || { rm -f "$bin.tmp"; die "go build of ./cmd/helm failed (sources in $src)"; }
	mv "$bin.tmp" "$bin"
	log "built in $(($(date +%s) - t0))s: $bin"
	echo "$bin"
}

build_k8svalidate() {
	local dir="$REPO/tests/tools/k8svalidate" hash bin
	[ -f "$dir/go.mod" ] || die "missing $dir/go.mod"
	hash=$(cd "$dir" && cat go.mod go.sum *.go | sha256sum | cut -c1-12)
	bin="$CACHE/bin/k8svalidate-$hash"
	if [ -x "$bin" ]; then
		log "cached: $bin"
		echo "$bin"
		return
	fi
	local t0
	t0=$(date +%s)
	log "building $dir (first build downloads k8s.io/api and friends)"
	(
		cd "$dir"
		GOFLAGS=-mod=readonly go build -trimpath -buildvcs=false \
			-ldflags="-s -w" -o "$bin.tmp" .
	) || { rm -f "$bin.tmp"; die "go build of $dir failed"; }
	mv "$bin.tmp" "$bin"
	log "built in $(($(date +%s) - t0))s: $bin"
	echo "$bin"
}

"build_$NAME"
