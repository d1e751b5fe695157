#!/usr/bin/env bash
# Builds the file-tailing log shipper the log benchmark compares against, from
# its Go module, into a cache outside the repository (never committed).
# Usage: tests/bench/build_shipper.sh <alloy|promtail>
#
#   alloy     Grafana Alloy (github.com/grafana/alloy), the shipper users run
#             today.
#   promtail  Promtail, the fallback when Alloy cannot be built: the command
#             clients/cmd/promtail of the Loki module at the version Alloy
#             v1.10.0 itself requires (branch k217-alloy-v1.7-fork), so the
#             file tailing and push client are the code Alloy's
#             loki.source.file / loki.write are built from. (Loki v3.7.8, the
#             test backend, no longer carries Promtail.)
#
# Like tests/backends/build.sh: the module carries `replace` directives, so
# it is downloaded through the Go module proxy, copied to a writable place
# (nested modules that the zip leaves out are filled in from the proxy at the
# version go.mod requires) and built there with cgo off. The build gets a
# wall-time cap (SHIPPER_BUILD_TIMEOUT seconds, default 1200); on failure the
# error is kept in $CACHE/bin/<name>-<version>.failed, the evidence the report
# quotes, and later runs do not retry (SHIPPER_REBUILD=1 does).
# Prints the binary path on the last line of stdout. No-op when it exists.
set -euo pipefail

declare -A SHIPPERS=(
	[alloy]="github.com/grafana/alloy ${ALLOY_VERSION:-v1.10.0} ."
	[promtail]="github.com/grafana/loki/v3 v3.0.0-20250218135905-f078e0e3f9b6 ./clients/cmd/promtail"
)
NAME=${1:-alloy}
[ -n "${SHIPPERS[$NAME]:-}" ] || { echo "usage: $0 <alloy|promtail>" >&2; exit 2; }
read -r MODULE VERSION PKG <<<"${SHIPPERS[$NAME]}"
TIMEOUT=${SHIPPER_BUILD_TIMEOUT:-1200}

CACHE=${EBPFTRACE_CACHE:-$HOME/.cache/ebpftrace}
BIN="$CACHE/bin/$NAME-$VERSION"
SRC="$CACHE/src/$NAME-$VERSION"
FAILED="$BIN.failed"
mkdir -p "$CACHE/bin" "$CACHE/src"

log() { echo "build_shipper[$NAME]: $*" >&2; }
fail() {
	log "ERROR: $*"
	{ echo "$(date -u +%FT%TZ) $MODULE@$VERSION: $*"; } >"$FAILED"
	exit 1
}

exec 9>"$CACHE/build-$NAME.lock"
flock 9

if [ -x "$BIN" ]; then
	log "cached: $BIN"
	echo "$BIN"
	exit 0
fi
if [ -s "$FAILED" ] && [ "${SHIPPER_REBUILD:-0}" != 1 ]; then
	log "an earlier build failed (SHIPPER_REBUILD=1 to retry): $(head -c 300 "$FAILED")"
	exit 1
fi

command -v go >/dev/null || fail "go toolchain not found in PATH"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod

t0=$(date +%s)
log "downloading $MODULE@$VERSION via the Go module proxy"
json=$(go mod download -json "$MODULE@$VERSION" 2>&1) || fail "go mod download: $json"
dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("Dir",""))' <<<"$json")
[ -d "$dir" ] || fail "module directory missing: $json"

if [ ! -f "$SRC/.copied" ]; then
	log "copying sources to $SRC"
	rm -rf "$SRC"
	cp -r "$dir" "$SRC"
	chmod -R u+w "$SRC"
	# replace X => ./dir where ./dir is a nested module (not in the zip):
	# fill it with X at the version go.mod requires.
	(cd "$SRC" && go mod edit -json) | python3 -c '
import json, sys
m = json.load(sys.stdin)
req = {r["Path"]: r["Version"] for r in m.get("Require") or []}
for r in m.get("Replace") or []:
    new = r["New"]
    if not new.get("Version") and new["Path"].startswith("."):
        print(r["Old"]["Path"], new["Path"], req.get(r["Old"]["Path"], "-"))
' | while read -r path sub ver; do
		[ -e "$SRC/$sub" ] && continue
		[ "$ver" != - ] || fail "no required version for replaced $path"
		log "nested module $path@$ver -> $sub"
		mj=$(go mod download -json "$path@$ver" 2>&1) || fail "go mod download $path@$ver: $mj"
		md=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$mj")
		mkdir -p "$(dirname "$SRC/$sub")"
		cp -r "$md" "$SRC/$sub"
		chmod -R u+w "$SRC/$sub"
	done
	touch "$SRC/.copied"
fi

log "building $PKG (cgo off, tags netgo, cap ${TIMEOUT}s)"
out="$CACHE/build-$NAME.out"
rc=0
(cd "$SRC" && timeout "$TIMEOUT" go build -p "$(nproc)" -trimpath -buildvcs=false \
	-tags netgo -ldflags="-s -w" -o "$BIN.tmp" "$PKG") >"$out" 2>&1 || rc=$?
if [ "$rc" != 0 ]; then
	rm -f "$BIN.tmp"
	msg=$(grep -v '^go: downloading' "$out" | tail -n 15)
	[ "$rc" = 124 ] && msg="build still running after ${TIMEOUT}s wall time (cap); last output: $msg"
	fail "go build (exit $rc) after $(($(date +%s) - t0))s: $msg"
fi
mv "$BIN.tmp" "$BIN"
log "built in $(($(date +%s) - t0))s: $BIN ($(du -h "$BIN" | cut -f1))"
echo "$BIN"
