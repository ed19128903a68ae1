#!/bin/sh
# sched_bench.sh — builds bench/sched_bench.c against the scheduler's sources,
# runs it and appends the results to bench/RESULTS.md.
#   bench/sched_bench.sh            full scene (10,000 GPUs, 100,000 waiting)
#   bench/sched_bench.sh --quick    a 10x smaller smoke run (not recorded)
# Other arguments go to the benchmark (e.g. --placement bestfit).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. bench/lib.sh
out=${TMPDIR:-/tmp}/gpuhub-sched-bench.$$
trap 'rm -f "$out" "$out.txt"' EXIT

${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -Wstrict-prototypes -Wshadow -Isrc \
	-o "$out" bench/sched_bench.c src/sched/*.c src/common/err.c src/common/util.c -lm

"$out" "$@" | tee "$out.txt"

case " $* " in *" --quick "*) exit 0 ;; esac

bench_append "sched: full pass and arrivals (bench/sched_bench.sh${*:+ $*})" "$out.txt" src/sched bench
