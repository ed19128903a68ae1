#!/bin/sh
# fgd_bench.sh — the FGD experiment of "Beware of Fragmentation" (ATC'23):
# 6 placement policies x 10 seeds on the Alibaba GPU trace, timed; prints
# the table against the published means and appends it to bench/RESULTS.md.
#
#   bench/fgd_bench.sh                 # default trace, seeds 42-51
#   SEEDS=42-44 bench/fgd_bench.sh     # fewer seeds
#   RESULTS=/tmp/r.md bench/fgd_bench.sh   # append somewhere else
#   VARIANTS=1 bench/fgd_bench.sh      # also fgd vs gpuhub on resampled
#                                      # variants of the trace (built in a
#                                      # temporary directory, then removed)
#
# Uses build/gpuhub when it builds; otherwise compiles the simulator alone
# (src/sim, src/sched, src/common) into a temporary directory.
set -eu
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-42-51}
TRACE_DIR=${GPUHUB_TRACE_DIR:-../shared/traces/alibaba-gpu-v2023}
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if make -s build/gpuhub >/dev/null 2>&1 && [ -x build/gpuhub ] &&
	build/gpuhub sim --help >/dev/null 2>&1; then
	BIN=build/gpuhub
else
	echo "fgd_bench: the full binary does not build; compiling the simulator alone" >&2
	cat >"$TMP/main.c" <<'EOF'
#include "sim/sim.h"
int main(int argc, char **argv) { return sim_main(argc - 1, argv + 1); }
EOF
	cc -std=gnu11 -O2 -Isrc -o "$TMP/gpuhub-sim" "$TMP/main.c" src/sim/*.c src/sched/*.c \
		src/common/err.c src/common/util.c -lm -lpthread
	BIN="$TMP/gpuhub-sim"
fi
SIM="$BIN sim fgd"
[ "$BIN" = "$TMP/gpuhub-sim" ] && SIM="$BIN fgd"

t0=$(date +%s.%N)
GPUHUB_TRACE_DIR=$TRACE_DIR $SIM --seeds "$SEEDS" -o json >"$TMP/fgd.json"
t1=$(date +%s.%N)
secs=$(echo "$t1 - $t0" | bc)

if [ "${VARIANTS:-0}" = 1 ]; then
	$PY - "$TRACE_DIR/openb_pod_list_default.csv" "$TMP" <<'EOF'
import csv, random, sys
src, out = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(src)))
hdr = list(rows[0].keys())
rnd = random.Random(7)
def write(name, rs):
    with open(f"{out}/{name}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=hdr); w.writeheader(); w.writerows(rs)
frac = [r for r in rows if r["num_gpu"] == "1" and int(r["gpu_milli"]) < 1000]
def share(r):
    r = dict(r)
    if r["num_gpu"] == "1" and r["gpu_milli"] == "1000" and rnd.random() < 0.4:
        t = rnd.choice(frac); r["gpu_milli"] = t["gpu_milli"]; r["cpu_milli"] = t["cpu_milli"]
    return r
def spec(r):
    r = dict(r)
    if r["num_gpu"] != "0" and rnd.random() < 0.3:
        r["gpu_spec"] = rnd.choice(["V100M16|V100M32", "T4", "G2", "G2|G3", "P100|T4", "A10|G3"])
    return r
write("sub50", [r for r in rows if rnd.random() < 0.5])
write("share60", [share(r) for r in rows])
write("multi4x", [dict(r) for r in rows for _ in range(4 if int(r["num_gpu"]) > 1 else 1)])
write("cpu150", [dict(r, cpu_milli=str(min(int(int(r["cpu_milli"]) * 1.5), 96000))) for r in rows])
write("spec30", [spec(r) for r in rows])
EOF
	for v in sub50 share60 multi4x cpu150 spec30; do
		GPUHUB_TRACE_DIR=$TRACE_DIR $SIM --pods "$TMP/$v.csv" --policy fgd,gpuhub \
			--seeds "$SEEDS" -o json >"$TMP/var_$v.json"
	done
fi

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || echo unknown)
machine="$(uname -m), $(nproc) CPUs, $cpu"
$PY - "$TMP" "$secs" "$commit" "$machine" "$SEEDS" "${VARIANTS:-0}" \
	"${RESULTS:-bench/RESULTS.md}" <<'EOF'
import json, sys, time
tmp, secs, commit, machine, seeds, variants, path = sys.argv[1:8]
runs = json.load(open(f"{tmp}/fgd.json"))
by = {r["policy"]: r for r in runs}
lines = []
lines.append(f"## FGD experiment (ATC'23 main result) — {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
lines.append("")
lines.append(f"- machine: {machine}")
lines.append(f"- commit: {commit}")
lines.append(f"- seeds: {seeds}; {len(runs)} policies; wall time {float(secs):.1f} s (bench/fgd_bench.sh)")
lines.append("")
lines.append("Unallocated GPU % at 100% arrived (mean over seeds; lower is better):")
lines.append("")
lines.append("| policy | ours | published | ours - published |")
lines.append("|---|---:|---:|---:|")
for r in runs:
    pub = r.get("published")
    ours = r["unallocated_pct_at_100"]
    lines.append(f"| {r['policy']} | {ours:.2f} | {pub if pub is not None else '-'} | "
                 f"{(ours - pub):+.2f} |" if pub is not None else
                 f"| {r['policy']} | {ours:.2f} | - | - |")
if "fgd" in by and "gpuhub" in by:
    f, g = by["fgd"]["unallocated_pct_at_100"], by["gpuhub"]["unallocated_pct_at_100"]
    lines.append("")
    lines.append(f"gpuhub / fgd (same run, same seeds): {g / f:.3f} ({g:.2f} vs {f:.2f})")
if variants == "1":
    lines.append("")
    lines.append("Resampled variants of the trace (fgd vs gpuhub, same seeds):")
    lines.append("")
    lines.append("| variant | fgd | gpuhub |")
    lines.append("|---|---:|---:|")
    for v in ["sub50", "share60", "multi4x", "cpu150", "spec30"]:
        rs = {r["policy"]: r["unallocated_pct_at_100"] for r in json.load(open(f"{tmp}/var_{v}.json"))}
        lines.append(f"| {v} | {rs['fgd']:.2f} | {rs['gpuhub']:.2f} |")
text = "\n".join(lines) + "\n"
print(text)
import os
new = not os.path.exists(path)
with open(path, "a") as fh:
    if new:
        fh.write("# Benchmark results\n\nEach section is appended by the script that measured it.\n\n")
    fh.write(text + "\n")
EOF
