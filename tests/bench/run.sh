#!/usr/bin/env bash
# make bench: prepares the benchmark peers and tools (cached outside the
# repository), then runs tests/bench/bench.py. Settings: see bench.py's
# docstring (BENCH_ROUNDS, BENCH_SECONDS, EBPFTRACE, ...).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${CACHE:-$HOME/.cache/ebpftrace}
OTEL_AGENT_VERSION=${OTEL_AGENT_VERSION:-2.33.1}
export CACHE
mkdir -p "$CACHE/bin" "$CACHE/peers"
cd "$ROOT"

# Log capture benchmark (tests/bench/logbench.py) after bench.py:
# BENCH_LOGS=0 skips it, BENCH_ONLY_LOGS=1 runs it alone.
if [ "${BENCH_ONLY_LOGS:-0}" = 1 ]; then
	exec python3 tests/bench/logbench.py
fi
# Cost to processes that are not traced (tests/bench/sysbench.py; bench.py
# runs it too): BENCH_ONLY_SYSCALLS=1 runs it alone, BENCH_SYSCALLS=0 skips it.
if [ "${BENCH_ONLY_SYSCALLS:-0}" = 1 ]; then
	exec python3 tests/bench/sysbench.py
fi

need() { command -v "$1" >/dev/null || { echo "bench: $1 is required" >&2; exit 1; }; }
need wrk; need java; need javac; need go; need python3

if ! python3 -c 'import matplotlib' 2>/dev/null; then
	echo "bench: installing matplotlib"
	python3 -m pip install -q matplotlib 2>/dev/null ||
		{ apt-get install -y -qq python3-matplotlib >/dev/null 2>&1 || true; }
	python3 -c 'import matplotlib' 2>/dev/null ||
		echo "bench: matplotlib unavailable, the report will have no plot" >&2
fi

# Peers: compiled once per change, outside the repository.
javac -d "$CACHE/peers" tests/peers/JdkServer.java
(cd tests/peers/GoServer && CGO_ENABLED=0 go build -o "$CACHE/bin/goserver" .)

# OpenTelemetry Java agent from Maven Central, pinned.
if [ "${BENCH_AGENT:-1}" = 1 ] && [ -z "${OTEL_AGENT_JAR:-}" ]; then
	jar="$CACHE/opentelemetry-javaagent-$OTEL_AGENT_VERSION.jar"
	if [ ! -s "$jar" ] && command -v mvn >/dev/null; then
		echo "bench: fetching opentelemetry-javaagent $OTEL_AGENT_VERSION"
		mvn -q -B dependency:copy \
			-Dartifact="io.opentelemetry.javaagent:opentelemetry-javaagent:$OTEL_AGENT_VERSION" \
			-DoutputDirectory="$CACHE" >/dev/null || true
	fi
	if [ -s "$jar" ]; then
		export OTEL_AGENT_JAR="$jar"
	else
		echo "bench: OTel Java agent unavailable, its conditions are left out of this run" >&2
	fi
fi

python3 tests/bench/bench.py "$@"
if [ "${BENCH_LOGS:-1}" = 1 ]; then
	python3 tests/bench/logbench.py ||
		echo "bench: log capture benchmark failed (exit $?)" >&2
fi
