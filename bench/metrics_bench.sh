#!/usr/bin/env bash
# metrics_bench.sh — the cost of monitoring a gpuhub, each figure compared
# with a baseline measured in the same run:
#
#   1. GET /metrics with 64 simulated GPUs and 1,000 sessions (64 running,
#      each reporting GPU use; 936 queued), time per scrape p50/p99 over
#      ROUNDS scrapes, against GET /api/v1/health on the same connection
#                                                        target <= 10 ms
#   2. telemetry polling at 64 GPUs once a second (with per-session
#      attribution): the hub's CPU time over an idle minute as % of one
#      core, against the same hub with polling every 60 s (the longest
#      gpus.poll_interval_ms allows: polling "off")
#
# Appends a section to bench/RESULTS.md (date, machine, commit).
#
#   bench/metrics_bench.sh             uses build/gpuhub (or $GPUHUB_BIN)
#   SESSIONS=1000 GPUS=64 ROUNDS=300 IDLE=60 bench/metrics_bench.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
BIN=${GPUHUB_BIN:-$ROOT/build/gpuhub}
PY=/usr/bin/python3
HELPER=$ROOT/bench/metrics_client.py
SESSIONS=${SESSIONS:-1000}
GPUS=${GPUS:-64}
ROUNDS=${ROUNDS:-300}
IDLE=${IDLE:-60}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}

[ -x "$BIN" ] || { echo "metrics_bench: $BIN not built (make build/gpuhub)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/gpuhub-bench.XXXXXX)
TOKEN=gh_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
PID=""
REPORTER=""
LEFT=""   # processes the daemon started, killed by pid at the end

cleanup() {
	[ -n "$REPORTER" ] && kill "$REPORTER" 2>/dev/null || true
	bench_stop_daemon
	bench_kill_left
	rm -rf "$WORK"
}
trap cleanup EXIT

config() { # poll_ms -> config file
	cat >"$WORK/bench-$1.yaml" <<EOF2
log:
  level: warn
gpus:
  poll_interval_ms: $1
sessions:
  max_per_user: 1000
EOF2
	echo "$WORK/bench-$1.yaml"
}

PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT

start_daemon() { # config file
	GPUHUB_ADMIN_TOKEN=$TOKEN "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
		--gpus "sim:${GPUS}xA100-80GB" --config "$1" >>"$WORK/daemon.log" 2>&1 &
	PID=$!
	for _ in $(seq 300); do
		curl -sf -o /dev/null "$URL/api/v1/health" && return 0
		sleep 0.1
	done
	tail -20 "$WORK/daemon.log" >&2
	exit 1
}

echo "== gpuhub metrics bench: $BIN, ${GPUS} GPUs, $SESSIONS sessions" >&2
start_daemon "$(config 1000)"
$PY "$HELPER" seed "$URL" "$TOKEN" "$SESSIONS"
# the GPUs fill: wait until every admitted workspace runs
for _ in $(seq 600); do
	RUNNING=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/api/v1/sessions?state=running&limit=1" |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["total"])')
	[ "$RUNNING" -ge "$GPUS" ] && break
	sleep 0.2
done
echo "running sessions: $RUNNING" >&2
$PY "$HELPER" report "$WORK/data" 100000 &
REPORTER=$!
sleep 3

# 1. scrape time
S=$($PY "$HELPER" scrape "$URL" "$TOKEN" "$ROUNDS")
echo "$S" >&2
j() { echo "$S" | $PY -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
M50=$(j metrics_p50_ms); M99=$(j metrics_p99_ms); H50=$(j health_p50_ms); H99=$(j health_p99_ms)
BYTES=$(j bytes); SERIES=$(j series)

# 2. polling cost: idle minute with polling every second, then every 60 s
sleep 2
CPU_ON=$($PY "$HELPER" cpu "$PID" "$IDLE")
bench_stop_daemon
start_daemon "$(config 60000)"
sleep 3
CPU_OFF=$($PY "$HELPER" cpu "$PID" "$IDLE")
bench_stop_daemon

OK1=$(awk -v r="$M99" 'BEGIN { print (r <= 10) }')
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
MACHINE="$(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%d GiB", $2/1048576}' /proc/meminfo)"
{
	echo
	echo "## Metrics bench (bench/metrics_bench.sh) — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo
	echo "- machine: $MACHINE; commit $COMMIT; sim:${GPUS}xA100-80GB; $SESSIONS sessions ($RUNNING running with GPU reports, the rest queued)"
	echo
	echo "| measure | result | baseline (same run) | ratio | target |"
	echo "|---|---|---|---|---|"
	echo "| GET /metrics, p50 / p99 over $ROUNDS scrapes ($SERIES samples, $BYTES bytes) | $M50 / $M99 ms | GET /api/v1/health $H50 / $H99 ms | $(bench_ratio "$M50" "$H50") / $(bench_ratio "$M99" "$H99") | p99 ≤ 10 ms: $([ "$OK1" = 1 ] && echo met || echo 'NOT met') |"
	echo "| hub CPU over an idle ${IDLE} s, GPU polling every 1 s (64 GPUs, attribution) | ${CPU_ON} % of a core | polling every 60 s: ${CPU_OFF} % | $(bench_ratio "$CPU_ON" "$CPU_OFF") | — |"
	echo
	echo "Scrape times are measured from a Python client over one keep-alive connection,"
	echo "alternating with GET /health, so both carry the same client overhead. CPU is the"
	echo "daemon's utime+stime from /proc; the workspaces' report files are written by the"
	echo "bench client (one process), not counted."
} >>"$RESULTS"
tail -12 "$RESULTS"
