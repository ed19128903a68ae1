#!/bin/sh
# alert_bench.sh — builds bench/alert_bench.c against the alert engine, runs
# it and appends the results to bench/RESULTS.md.
#   bench/alert_bench.sh           run and record
#   bench/alert_bench.sh --quick   run only (not recorded)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${TMPDIR:-/tmp}/gpuhub-alert-bench.$$
trap 'rm -f "$out" "$out.txt"' EXIT

${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -Wstrict-prototypes -Wshadow -Isrc -D_GNU_SOURCE \
	-o "$out" bench/alert_bench.c src/alert/alert.c src/common/err.c src/common/util.c -lm

"$out" | tee "$out.txt"

case " $* " in *" --quick "*) exit 0 ;; esac

results=bench/RESULTS.md
[ -f "$results" ] || printf '# Benchmark results\n\nEach section is appended by the benchmark'"'"'s script.\n' >"$results"
{
	printf '\n## alerts: one evaluation round of the alert engine (bench/alert_bench.sh)\n\n'
	printf -- '- date: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	printf -- '- machine: %s CPUs, %s\n' "$(nproc)" \
		"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	printf -- '- commit: %s%s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
		"$(git diff --quiet -- src/alert bench/alert_bench.c bench/alert_bench.sh 2>/dev/null || echo ' (with uncommitted changes)')"
	printf -- '- load average at the start: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '```\n'
	cat "$out.txt"
	printf '```\n'
} >>"$results"
echo "appended to $results"
