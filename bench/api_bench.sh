#!/usr/bin/env bash
# api_bench.sh — REST API benchmarks of the gpuhub daemon, each compared with
# a baseline measured in the same run on the same daemon:
#
#   1. GET /api/v1/sessions (1,000 sessions stored, 50 connections, wrk ~10 s)
#      requests/s, against GET /api/v1/health         target >= 20,000 req/s
#   2. daemon RSS with 10,000 stored sessions, against RSS with an empty
#      store (after seeding, and after a restart that loads them back)
#                                                       target <= 30 MB
#   3. session create -> GPUs allocated latency p50/p99 over 1,000 creates
#      (the create answer carries the allocation), against GET /health
#                                                       target p99 <= 5 ms
#
# Appends a section to bench/RESULTS.md (date, machine, commit).
#
#   bench/api_bench.sh            uses build/gpuhub (or $GPUHUB_BIN)
#   DURATION=10 CONNS=50 LIST_SESSIONS=1000 RSS_SESSIONS=10000 CREATES=1000 bench/api_bench.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
BIN=${GPUHUB_BIN:-$ROOT/build/gpuhub}
PY=/usr/bin/python3
HELPER=$ROOT/bench/api_client.py
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
LIST_SESSIONS=${LIST_SESSIONS:-1000}
RSS_SESSIONS=${RSS_SESSIONS:-10000}
CREATES=${CREATES:-1000}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}

[ -x "$BIN" ] || { echo "api_bench: $BIN not built (make build/gpuhub)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "api_bench: wrk is not installed" >&2; exit 1; }

WORK=$(mktemp -d /tmp/gpuhub-bench.XXXXXX)
TOKEN=gh_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
PID=""

LEFT=""   # processes the daemon started, killed by pid once it has exited

cleanup() {
	bench_stop_daemon
	bench_kill_left
	rm -rf "$WORK"
}
trap cleanup EXIT

# A config that lets one user store many sessions.
cat >"$WORK/bench.yaml" <<EOF
log:
  level: warn
sessions:
  max_per_user: 1000
EOF
CONFIG_ARGS=(--config "$WORK/bench.yaml")
if ! "$BIN" serve --check-config "$WORK/bench.yaml" >/dev/null 2>&1; then
	echo "api_bench: bench config refused, running with defaults" >&2
	CONFIG_ARGS=()
fi

PORT=$($PY "$HELPER" freeport)
URL=http://127.0.0.1:$PORT

start_daemon() {
	GPUHUB_ADMIN_TOKEN=$TOKEN "$BIN" serve --listen "127.0.0.1:$PORT" \
		--data-dir "$WORK/data" --gpus sim:4xA100-80GB "${CONFIG_ARGS[@]}" \
		>>"$WORK/daemon.log" 2>&1 &
	PID=$!
	$PY "$HELPER" wait "$URL" 30 || { tail -20 "$WORK/daemon.log" >&2; exit 1; }
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status"; }

wrk_rps() { # path -> requests/s
	local out
	out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency \
		-H "Authorization: Bearer $TOKEN" "$URL$1")
	echo "$out" >&2
	if grep -q "Non-2xx" <<<"$out"; then
		echo "api_bench: non-2xx answers for $1" >&2
		exit 1
	fi
	echo "$out" | awk '/^Requests\/sec:/ {printf "%d\n", $2}'
}

mb() { awk -v k="$1" 'BEGIN { printf "%.1f\n", k / 1024 }'; }
verdict() { [ "$1" = 1 ] && echo "met" || echo "NOT met"; }

echo "== gpuhub API bench: $BIN on $URL" >&2
start_daemon
for _ in $(seq 50); do curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL/api/v1/sessions"; done
RSS_EMPTY=$(rss_kb)

# 1. list throughput with 1,000 sessions stored
$PY "$HELPER" seed "$URL" "$TOKEN" "$LIST_SESSIONS" list
TOTAL=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/api/v1/sessions?limit=1" |
	$PY -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[ "$TOTAL" -ge "$LIST_SESSIONS" ] || { echo "api_bench: only $TOTAL sessions stored" >&2; exit 1; }
RPS_HEALTH=$(wrk_rps /api/v1/health)
RPS_LIST=$(wrk_rps /api/v1/sessions)
RPS_RATIO=$(bench_ratio "$RPS_LIST" "$RPS_HEALTH")

# 2. RSS with 10,000 stored sessions
$PY "$HELPER" seed "$URL" "$TOKEN" $((RSS_SESSIONS - LIST_SESSIONS)) rss
RSS_SEEDED=$(rss_kb)
bench_stop_daemon
start_daemon
for _ in $(seq 50); do curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL/api/v1/sessions"; done
RSS_LOADED=$(rss_kb)
RSS_MAX=$(( RSS_SEEDED > RSS_LOADED ? RSS_SEEDED : RSS_LOADED ))

# 3. create -> allocated latency
LAT=$($PY "$HELPER" latency "$URL" "$TOKEN" "$CREATES")
j() { echo "$LAT" | $PY -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
C50=$(j create_p50_ms); C99=$(j create_p99_ms); CMAX=$(j create_max_ms)
H50=$(j health_p50_ms); H99=$(j health_p99_ms)
bench_stop_daemon

OK1=$(awk -v r="$RPS_LIST" 'BEGIN { print (r >= 20000) }')
OK2=$(awk -v k="$RSS_MAX" 'BEGIN { print (k <= 30 * 1024) }')
OK3=$(awk -v p="$C99" 'BEGIN { print (p <= 5) }')

DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MACHINE="$(nproc) cores, $CPU, $(awk '/^MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- src 2>/dev/null)" ]; then COMMIT="$COMMIT+dirty"; fi

REPORT=$(cat <<EOF

## API bench (bench/api_bench.sh) — $DATE

- machine: $MACHINE; commit $COMMIT; wrk -t2 -c$CONNS -d${DURATION}s; sim:4xA100-80GB

| measure | result | baseline (same run) | ratio | target |
|---|---|---|---|---|
| GET /api/v1/sessions, $LIST_SESSIONS stored, $CONNS conns | $RPS_LIST req/s | GET /health $RPS_HEALTH req/s | $RPS_RATIO | ≥ 20,000 req/s: $(verdict "$OK1") |
| RSS, $RSS_SESSIONS sessions stored (after seeding / after restart) | $(mb "$RSS_SEEDED") / $(mb "$RSS_LOADED") MB | empty store $(mb "$RSS_EMPTY") MB | $(bench_ratio "$RSS_MAX" "$RSS_EMPTY") | ≤ 30 MB: $(verdict "$OK2") |
| create → GPUs allocated, $CREATES creates, p50 / p99 (max) | $C50 / $C99 ($CMAX) ms | GET /health p50 / p99 $H50 / $H99 ms | $(bench_ratio "$C50" "$H50") / $(bench_ratio "$C99" "$H99") | p99 ≤ 5 ms: $(verdict "$OK3") |

Latency is measured from a Python client over one keep-alive connection,
each create followed (untimed) by its stop; the GET /health column is timed
in the same loop, so it carries the same client overhead and machine noise.
EOF
)
echo "$REPORT"
[ -f "$RESULTS" ] || printf '# Benchmark results\n' >"$RESULTS"
echo "$REPORT" >>"$RESULTS"
echo "api_bench: appended to $RESULTS" >&2
