#!/bin/sh
# cull_bench.sh — idle culling replayed over synthetic notebook activity:
# no culling (Kubeflow's default), Kubeflow's kernel-activity culler,
# jupyterhub-idle-culler and gpuhub's rules, on the same traces in the same
# run. Prints the table per seed and the sums over seeds, checks that the
# same seed gives the same output, and appends the result to
# bench/RESULTS.md. Model and policies: docs/sim.md.
#
#   bench/cull_bench.sh                    # seeds 1-5, 200 sessions each
#   SEEDS="1 2" SESSIONS=500 bench/cull_bench.sh
#   RESULTS=/tmp/r.md bench/cull_bench.sh  # append somewhere else
set -eu
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-"1 2 3 4 5"}
SESSIONS=${SESSIONS:-200}
DAYS=${DAYS:-7}
RESULTS=${RESULTS:-bench/RESULTS.md}
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

make -s build/gpuhub >/dev/null
BIN=build/gpuhub

for s in $SEEDS; do
	$BIN sim gen-activity --sessions "$SESSIONS" --days "$DAYS" --seed "$s" --out "$TMP/act-$s.csv"
	$BIN sim replay --cull all --activity "$TMP/act-$s.csv" -o json >"$TMP/res-$s.json"
	$BIN sim replay --cull all --activity "$TMP/act-$s.csv" >"$TMP/table-$s.txt"
done
# determinism: the first seed again, from scratch
first=$(echo $SEEDS | cut -d' ' -f1)
$BIN sim gen-activity --sessions "$SESSIONS" --days "$DAYS" --seed "$first" --out "$TMP/again.csv"
$BIN sim replay --cull all --activity "$TMP/again.csv" -o json >"$TMP/again.json"
if cmp -s "$TMP/act-$first.csv" "$TMP/again.csv" && cmp -s "$TMP/res-$first.json" "$TMP/again.json"; then
	same=yes
else
	same=NO
fi

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet 2>/dev/null || commit="$commit+dirty"
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
machine="$(nproc) cores, $cpu"
cat "$TMP/table-$first.txt"
$PY - "$TMP" "$commit" "$machine" "$SESSIONS" "$DAYS" "$same" "$RESULTS" $SEEDS <<'EOF'
import datetime, json, sys
tmp, commit, machine, sessions, days, same, path = sys.argv[1:8]
seeds = sys.argv[8:]
keys = ["alloc_gpu_h", "idle_gpu_h", "busy_gpu_h", "lost_gpu_h", "suspensions", "wrongly_suspended"]
tot, per_seed = {}, []
for s in seeds:
    d = json.load(open(f"{tmp}/res-{s}.json"))
    by = {p["policy"]: p for p in d["policies"]}
    per_seed.append((s, by, d["targets_met"]))
    for name, p in by.items():
        t = tot.setdefault(name, dict.fromkeys(keys, 0))
        for k in keys:
            t[k] += p[k]
def less(x, base):
    return 100.0 * (1 - x / base) if base else 0.0
none, proxy, hub = tot["none"], tot["proxy"], tot["gpuhub"]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
out = [f"## Idle culling replay (bench/cull_bench.sh) — {now}", "",
       f"- machine: {machine}; commit {commit}",
       f"- trace: `gpuhub sim gen-activity`, {sessions} sessions per seed, lifetimes 1-{days} days, "
       f"seeds {' '.join(seeds)}; same seed → same trace and results: {same}", "",
       "| policy | allocated GPU-h | allocated-but-idle GPU-h | busy GPU-h served | lost (killed) GPU-h | "
       "suspensions | wrongly suspended | GPU-h reclaimed vs none | idle vs none | idle vs proxy |",
       "|---|---|---|---|---|---|---|---|---|---|"]
for name in ["none", "kernel", "proxy", "gpuhub"]:
    t = tot[name]
    out.append(f"| {name} | {t['alloc_gpu_h']:.0f} | {t['idle_gpu_h']:.0f} | {t['busy_gpu_h']:.0f} | "
               f"{t['lost_gpu_h']:.0f} | {t['suspensions']} | {t['wrongly_suspended']} | "
               f"{none['alloc_gpu_h'] - t['alloc_gpu_h']:.0f} | {0.0 - less(t['idle_gpu_h'], none['idle_gpu_h']):+.1f}% | "
               f"{0.0 - less(t['idle_gpu_h'], proxy['idle_gpu_h']):+.1f}% |")
vn, vp = less(hub["idle_gpu_h"], none["idle_gpu_h"]), less(hub["idle_gpu_h"], proxy["idle_gpu_h"])
ok = lambda b: "met" if b else "NOT met"
out += ["",
        f"Targets (sums over seeds): gpuhub idle GPU-hours {vn:.1f}% below none (≥ 90%: {ok(vn >= 90)}), "
        f"{vp:.1f}% below proxy (≥ 50%: {ok(vp >= 50)}); wrongly suspended {hub['wrongly_suspended']} vs "
        f"proxy {proxy['wrongly_suspended']} (no more: {ok(hub['wrongly_suspended'] <= proxy['wrongly_suspended'])}). "
        f"Per seed, all targets met: " + ", ".join(f"{s}: {'yes' if m else 'no'}" for s, _, m in per_seed) + ".",
        "",
        "none = Kubeflow's default (culling off); kernel = Kubeflow notebook controller (1440 min on kernel "
        "last_activity, which an open tab's polling bumps, checked every minute); proxy = jupyterhub-idle-culler "
        "(600 s on proxied traffic incl. polling, every 300 s); gpuhub = GPU idle 1800 s from the session's GPU use "
        "+ full idle 3600 s from user activity or compute, polling ignored, every 10 s (the hub's idle.* defaults). "
        "Wrongly suspended = suspended while the user was active or the GPU busy; lost = GPU work that fell into "
        "a suspension (a killed training).", ""]
text = "\n".join(out) + "\n"
print(text)
with open(path, "a") as f:
    f.write("\n" + text)
EOF
