#!/bin/sh
# sched_bench.sh — builds bench/sched_bench.c against the scheduler's sources,
# runs it and appends the results to bench/RESULTS.md.
#   bench/sched_bench.sh            full scene (10,000 GPUs, 100,000 waiting)
#   bench/sched_bench.sh --quick    a 10x smaller smoke run (not recorded)
# Other arguments go to the benchmark (e.g. --placement bestfit).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${TMPDIR:-/tmp}/gpuhub-sched-bench.$$
trap 'rm -f "$out" "$out.txt"' EXIT

${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -Wstrict-prototypes -Wshadow -Isrc \
	-o "$out" bench/sched_bench.c src/sched/*.c src/common/err.c src/common/util.c -lm

"$out" "$@" | tee "$out.txt"

case " $* " in *" --quick "*) exit 0 ;; esac

results=bench/RESULTS.md
[ -f "$results" ] || printf '# Benchmark results\n\nEach section is appended by the benchmark'"'"'s script.\n' >"$results"
{
	printf '\n## sched: full pass and arrivals (bench/sched_bench.sh%s)\n\n' "${*:+ $*}"
	printf -- '- date: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	printf -- '- machine: %s CPUs, %s\n' "$(nproc)" \
		"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	printf -- '- commit: %s%s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
		"$(git diff --quiet -- src/sched bench 2>/dev/null || echo ' (with uncommitted changes)')"
	printf -- '- load average at the start: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '```\n'
	cat "$out.txt"
	printf '```\n'
} >>"$results"
echo "appended to $results"
