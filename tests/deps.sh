#!/usr/bin/env bash
# Installs what building, running and testing ebpftrace needs (Debian 12).
# Idempotent and quiet when everything is already there.
set -euo pipefail
PKGS=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libprotobuf-c-dev
      protobuf-c-compiler libcurl4-openssl-dev libcjson-dev libyaml-dev
      libcmocka-dev libclang-rt-14-dev wrk curl python3-pytest
      libmicrohttpd-dev containerd runc etcd-server openssl
      nginx-light haproxy apache2 apache2-utils lighttpd wget nftables iproute2)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	# nginx, haproxy, apache2, lighttpd, containerd and etcd are test
	# peers the tests start themselves: do not let the packages start them
	# as system services (policy-rc.d 101 = "not allowed"), and leave an
	# existing policy alone.
	norc=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod 755 /usr/sbin/policy-rc.d
		norc=1
	fi
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
	[ -z "$norc" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi
# A JDK and Maven: the JDK peers, the PetClinic-shaped Spring Boot app and
# the OpenTelemetry Java agent (both from Maven Central). Any JDK 17+ on
# PATH will do; Debian's only when there is none.
if ! command -v javac >/dev/null || ! command -v mvn >/dev/null; then
	echo "deps: installing a JDK and Maven"
	SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		openjdk-17-jdk-headless maven >/dev/null
fi
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest
# PyYAML: the deployment checks (tests/deploy) read charts and manifests.
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml
# grpcio: the container tests create pods through containerd's CRI API,
# with the project's own .proto compiled by grpcio-tools at test time.
python3 -c 'import grpc, grpc_tools' 2>/dev/null || \
	python3 -m pip install -q grpcio grpcio-tools
# gunicorn and uvicorn: the Python app servers of tests/bpf/test_real_servers.py
# (Express comes from npm into ~/.cache/ebpftrace/npm-express at test time).
python3 -c 'import gunicorn, uvicorn' 2>/dev/null || \
	python3 -m pip install -q gunicorn uvicorn
# requests, httpx, aiohttp: the Python client libraries of
# tests/bpf/test_real_clients.py (axios comes from npm, OkHttp and
# HttpClient 5 from Maven Central, into the cache, at test time).
python3 -c 'import requests, httpx, aiohttp' 2>/dev/null || \
	python3 -m pip install -q requests httpx aiohttp
# tracefs is needed to attach tracepoints.
if [ ! -d /sys/kernel/tracing/events ] && [ "$(id -u)" = 0 ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi
