# bench/lib.sh — what the benchmark scripts share; sourced (sh or bash),
# after the script has cd'ed to the repository root.
#
#   bench_stop_daemon       ends the daemon whose pid is in $PID (TERM, then
#                           KILL after 10 s) and adds the processes it had
#                           started to $LEFT, to be killed by pid once it is gone
#   bench_kill_left         kills those processes
#   bench_ratio A B         A / B with two decimals ("n/a" when B is 0)
#   bench_append TITLE FILE PATH...
#                           appends to bench/RESULTS.md a section TITLE with
#                           date, machine, commit (noting uncommitted changes
#                           under PATH...), load average and FILE's text

bench_descendants() { # pid -> every live descendant pid
	local c
	for c in $(pgrep -P "$1" || true); do
		echo "$c"
		bench_descendants "$c"
	done
}

bench_stop_daemon() {
	if [ -n "${PID:-}" ] && kill -0 "$PID" 2>/dev/null; then
		LEFT="${LEFT:-} $(bench_descendants "$PID" | tr '\n' ' ')"
		kill -TERM "$PID"
		for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$PID" 2>/dev/null && kill -KILL "$PID"
		wait "$PID" 2>/dev/null || true
	fi
	PID=""
}

bench_kill_left() {
	local p
	for p in ${LEFT:-}; do kill -KILL "$p" 2>/dev/null || true; done
	LEFT=""
}

bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f\n", a / b }'; }

bench_append() {
	local title="$1" text="$2" results=bench/RESULTS.md
	shift 2
	[ -f "$results" ] || printf '# Benchmark results\n\nEach section is appended by the benchmark'"'"'s script.\n' >"$results"
	{
		printf '\n## %s\n\n' "$title"
		printf -- '- date: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
		printf -- '- machine: %s CPUs, %s\n' "$(nproc)" \
			"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
		printf -- '- commit: %s%s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
			"$(git diff --quiet -- "$@" 2>/dev/null || echo ' (with uncommitted changes)')"
		printf -- '- load average at the start: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
		printf '```\n'
		cat "$text"
		printf '```\n'
	} >>"$results"
	echo "appended to $results"
}
