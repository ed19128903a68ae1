#!/bin/sh
# alert_bench.sh — builds bench/alert_bench.c against the alert engine, runs
# it and appends the results to bench/RESULTS.md.
#   bench/alert_bench.sh           run and record
#   bench/alert_bench.sh --quick   run only (not recorded)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. bench/lib.sh
out=${TMPDIR:-/tmp}/gpuhub-alert-bench.$$
trap 'rm -f "$out" "$out.txt"' EXIT

${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -Wstrict-prototypes -Wshadow -Isrc -D_GNU_SOURCE \
	-o "$out" bench/alert_bench.c src/alert/alert.c src/common/err.c src/common/util.c -lm

"$out" | tee "$out.txt"

case " $* " in *" --quick "*) exit 0 ;; esac

bench_append "alerts: one evaluation round of the alert engine (bench/alert_bench.sh)" "$out.txt" \
	src/alert bench/alert_bench.c bench/alert_bench.sh
