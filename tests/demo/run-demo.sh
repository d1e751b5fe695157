#!/usr/bin/env bash
# The embedded default of `make run`: start the tracer on this host with
# console output, plus a tiny demo workload (two Python HTTP services, one
# calling the other, and a curl loop), so spans appear within seconds.
# DEMO_SECONDS=N stops after N seconds (default: until Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${EBPFTRACE:-build/ebpftrace}
SECS=${DEMO_SECONDS:-0}
FORMAT=${DEMO_FORMAT:-text}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "make run: the tracer needs root (or CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_SYS_PTRACE)" >&2
	exit 1
fi
"$BIN" check >/dev/null || { "$BIN" check; exit 1; }

# Trace the demo's processes only, so their stdout/stderr lines are captured
# too (host mode captures the output of selected processes).
args=(run --format "$FORMAT" --comm python3,curl)
[ "$SECS" != 0 ] && args+=(--duration "${SECS}s")
"$BIN" "${args[@]}" &
tracer=$!
pids+=("$tracer")
sleep 1.5  # programs attached before the workload starts

start_server() { # name port [downstream]
	OTEL_SERVICE_NAME=$1 python3 -u tests/peers/pyserver.py "$2" ${3:-} >"$work/$1.log" 2>&1 &
	pids+=($!)
	for ((n = 0; n < 50; n++)); do grep -q READY "$work/$1.log" 2>/dev/null && return; sleep 0.1; done
	echo "demo: $1 did not start" >&2; cat "$work/$1.log" >&2; exit 1
}
start_server demo-backend 18081
start_server demo-frontend 18080 http://127.0.0.1:18081
echo "demo: frontend on :18080 calls backend on :18081; requests every 0.5s" >&2
(
	i=0
	while true; do
		i=$((i + 1))
		curl -s -o /dev/null "http://127.0.0.1:18080/chain"
		curl -s -o /dev/null "http://127.0.0.1:18080/log"
		curl -s -o /dev/null "http://127.0.0.1:18080/users/$i?token=secret"
		[ $((i % 5)) = 0 ] && curl -s -o /dev/null "http://127.0.0.1:18080/fail"
		sleep 0.5
	done
) &
pids+=($!)
wait "$tracer"
