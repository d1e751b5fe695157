#!/usr/bin/env bash
# Builds a test backend (Tempo or Loki) from its Go module into a cache
# outside the repository. Usage: tests/backends/build.sh <tempo|loki>
#
# The modules carry `replace` directives, so `go install mod@version` refuses
# them: we download the module zip through the Go module proxy, copy the
# extracted (read-only) tree to a writable place and `go build` there.
# Prints the binary path on the last line of stdout. No-op when it exists.
set -euo pipefail

# name -> "module version package pinned-h1-sum|-"
# A pinned sum replaces the checksum-database lookup for versions the
# database does not know; "-" means the normal sumdb verification applies.
declare -A BACKENDS=(
	# Tempo's v2.x tags are not valid Go module versions (no /v2 suffix), so
	# it is pinned by pseudo-version: main at 87c2dc380cec (2025-05-29), one
	# day after the v2.8 release branch was cut, released in v2.9.0. The
	# checksum database has no entry for it; the pinned sum was checked
	# against the upstream git tree of that commit.
	[tempo]="github.com/grafana/tempo v1.5.1-0.20250529124718-87c2dc380cec ./cmd/tempo h1:wnzJov9RhSHGaTYGzTygL4qq986fLen8xSqnQgaMd28="
	[loki]="github.com/grafana/loki/v3 v3.7.8 ./cmd/loki -"
)

log() { echo "build.sh[$NAME]: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

NAME=${1:-}
[ -n "$NAME" ] && [ -n "${BACKENDS[$NAME]:-}" ] ||
	{ echo "usage: $0 <${!BACKENDS[*]}>" >&2; exit 2; }
read -r MODULE VERSION PKG PINSUM <<<"${BACKENDS[$NAME]}"

CACHE=${EBPFTRACE_CACHE:-$HOME/.cache/ebpftrace}
BIN="$CACHE/bin/$NAME-$VERSION"
SRC="$CACHE/src/$NAME-$VERSION"
mkdir -p "$CACHE/bin" "$CACHE/src"

# Serialise concurrent builds of the same backend (parallel test runs).
exec 9>"$CACHE/build-$NAME.lock"
flock 9

if [ -x "$BIN" ]; then
	log "cached: $BIN"
	echo "$BIN"
	exit 0
fi

command -v go >/dev/null || die "go toolchain not found in PATH"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${BACKEND_GOFLAGS:--mod=mod}"

# Nested modules (own go.mod) are left out of a module zip, so `replace
# X => ./dir` directives point at nothing. Fill each such directory with
# module X at the version go.mod requires, from the module proxy.
fill_local_replacements() {
	local src=$1 path dir ver modjson moddir
	while read -r path dir ver; do
		[ -e "$src/$dir" ] && continue
		[ "$ver" != - ] || die "no required version for replaced $path"
		log "nested module $path@$ver -> $dir"
		modjson=$(go mod download -json "$path@$ver") ||
			die "go mod download $path@$ver failed: $modjson"
		moddir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$modjson")
		mkdir -p "$(dirname "$src/$dir")"
		cp -r "$moddir" "$src/$dir"
		chmod -R u+w "$src/$dir"
	done < <(cd "$src" && go mod edit -json | python3 -c '
import json, sys
m = json.load(sys.stdin)
req = {r["Path"]: r["Version"] for r in m.get("Require") or []}
for r in m.get("Replace") or []:
    new = r["New"]
    if not new.get("Version") and new["Path"].startswith("."):
        print(r["Old"]["Path"], new["Path"], req.get(r["Old"]["Path"], "-"))
')
}

t0=$(date +%s)
log "downloading $MODULE@$VERSION via the Go module proxy"
[ "$PINSUM" = - ] || export GONOSUMDB="$MODULE"
json=$(go mod download -json "$MODULE@$VERSION") ||
	die "go mod download failed: $json"
read -r dir sum < <(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir","-"), d.get("Sum","-"), d.get("Error",""))' <<<"$json")
case "$json" in *'"Error"'*) die "go mod download reported an error: $json";; esac
[ "$PINSUM" = - ] || [ "$sum" = "$PINSUM" ] ||
	die "module hash mismatch: got $sum, pinned $PINSUM"
[ -d "$dir" ] || die "module directory missing: '$dir'"
t1=$(date +%s)
log "downloaded in $((t1 - t0))s: $dir"

if [ ! -f "$SRC/.copied" ]; then
	log "copying sources to $SRC"
	rm -rf "$SRC"
	cp -r "$dir" "$SRC"
	chmod -R u+w "$SRC"
	fill_local_replacements "$SRC"
	touch "$SRC/.copied"
fi

log "building $PKG (GOMAXPROCS=$(nproc), this takes several minutes)"
(
	cd "$SRC"
	go build -p "$(nproc)" -trimpath -buildvcs=false -ldflags="-s -w" \
		-o "$BIN.tmp" "$PKG"
) || { rm -f "$BIN.tmp"; die "go build of $PKG failed (sources in $SRC)"; }
mv "$BIN.tmp" "$BIN"
t2=$(date +%s)
log "built in $((t2 - t1))s (total $((t2 - t0))s): $BIN ($(du -h "$BIN" | cut -f1))"
echo "$BIN"
