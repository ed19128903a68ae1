#!/usr/bin/env bash
# slurm_bench.sh — gpuhub side by side with Slurm 22.05 on the same machine:
# a burst of 1,000 one-GPU requests, time until all of them are placed.
#
# Method (the same for both systems, measured in the same run):
#
#   cluster   64 GPUs. Slurm: two slurmd on this machine (NodeName n1 and
#             n2, 32 CPUs and Gres=gpu:32 each, fake GPU device nodes in a
#             temporary directory, gres.conf AutoDetect=off). gpuhub:
#             `--gpus sim:64xA100-80GB` (a sim inventory holds at most 64).
#   burst     COUNT (1,000) requests for one GPU each, sent at once:
#               Slurm  "array": one `sbatch --array=0-999 --gres=gpu:1 -n1
#                      --wrap true` (one RPC for the whole burst: the
#                      fastest way Slurm accepts 1,000 jobs);
#                      "each": 1,000 separate `sbatch --gres=gpu:1 -n1
#                      --wrap true`, SUBMITTERS (4) at a time;
#               gpuhub 1,000 POST /api/v1/sessions {"gpus":1} over
#                      CREATORS (4) keep-alive connections.
#   work      ~0 s: once placed, a request ends at once and frees its GPU
#             for the next in the queue. Slurm: the job script is `true`,
#             slurmd launches it and reports its end. gpuhub: the client
#             stops each session as soon as it sees it placed (in the create
#             answer, or from a watcher that lists starting/running
#             sessions without pause); its workspace is the light
#             "bench-plain" environment the client creates (`sleep
#             infinity`, ready once it runs), started and then killed.
#             With 64 GPUs and 1,000 requests, every GPU turns over ~15.6 times.
#   measure   wall time from the first submission until every request has
#             been placed (has had GPUs allocated), as a client sees it:
#             Slurm: `squeue -h -r -t PD` is empty (polled every 0.1 s)
#             after the last sbatch returned; gpuhub: all 1,000 sessions
#             seen placed. Rounds alternate gpuhub / Slurm array / Slurm
#             each (ROUNDS, default 5) on idle clusters. Reported: median
#             and best round of each; speedup = median of the faster Slurm
#             mode / gpuhub median (target ≥ 10), the best-round ratio too
#             (less sensitive to other load on the machine).
#
# Slurm settings chosen for speed (a lab would tune the same way): cons_tres,
# SchedulerType=$SLURM_SCHED (sched/backfill), SchedulerParameters=
# batch_sched_delay=0,sched_min_interval=0,default_queue_depth=COUNT+100,
# no accounting, jobacct_gather/none, proctrack/linuxproc, task/none,
# SlurmctldDebug/SlurmdDebug=error. munged runs with its own key and socket
# in the temporary directory (AuthInfo=socket=...). All traffic goes to
# 127.0.0.1; slurmctld and slurmd still listen on every address (no setting
# used here limits them to loopback), on random free ports.
#
# Needs root (Slurm runs as SlurmUser=root; device nodes) and the packages of
# `scripts/install-deps --bench`. Everything it starts (munged, slurmctld,
# two slurmd, job steps, the gpuhub daemon and its workspaces) is stopped on
# exit; every process carries GPUHUB_SLURM_BENCH=<its temp dir> in its
# environment so that none is missed. Runs in about 3 minutes.
# Appends a section to bench/RESULTS.md (date, machine, commit).
#
#   bench/slurm_bench.sh
#   COUNT=1000 ROUNDS=3 SLURM_MODES="array each" bench/slurm_bench.sh
#   KEEP=1 bench/slurm_bench.sh      keep the temporary directory (logs)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${GPUHUB_BIN:-$ROOT/build/gpuhub}
PY=/usr/bin/python3
HELPER=$ROOT/bench/slurm_client.py
COUNT=${COUNT:-1000}
ROUNDS=${ROUNDS:-5}
GPUS_PER_NODE=${GPUS_PER_NODE:-32}
SLURM_MODES=${SLURM_MODES:-array each}
SLURM_SCHED=${SLURM_SCHED:-sched/backfill}
CREATORS=${CREATORS:-4}
STOPPERS=${STOPPERS:-2}
SUBMITTERS=${SUBMITTERS:-4}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
NGPUS=$((2 * GPUS_PER_NODE))

die() { echo "slurm_bench: $*" >&2; exit 1; }

[ -x "$BIN" ] || die "$BIN not built (make build/gpuhub)"
[ "$(id -u)" -eq 0 ] || die "must run as root (Slurm runs with SlurmUser=root here)"
for c in slurmctld slurmd sbatch squeue sinfo scontrol munged mungekey; do
	command -v "$c" >/dev/null || die "$c not found: run scripts/install-deps --bench"
done
[ "$NGPUS" -le 64 ] || die "gpuhub's sim inventory holds at most 64 GPUs (GPUS_PER_NODE <= 32)"
[ "$COUNT" -le 1000 ] || die "COUNT is at most 1000 (sessions.max_per_user)"
for m in $SLURM_MODES; do
	case $m in array|each) ;; *) die "unknown Slurm mode '$m' (array, each)";; esac
done

WORK=$(mktemp -d /tmp/gpuhub-slurm-bench.XXXXXX)
chmod 755 "$WORK"    # munged wants its socket directory searchable by all
export GPUHUB_SLURM_BENCH=$WORK   # marks every process this run starts
export SLURM_CONF=$WORK/slurm.conf
TOKEN=gh_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
DAEMONS=()   # pids started here, stopped in reverse order
GH_PID=""
GH_URL=""

marked_pids() { # every live process whose environment carries our mark
	local p
	for p in /proc/[0-9]*; do
		{ tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qxF "GPUHUB_SLURM_BENCH=$WORK" &&
			echo "${p#/proc/}"
	done
	return 0
}

stop_pid() { # pid: TERM, wait up to 10 s, then KILL
	local p=$1
	kill -0 "$p" 2>/dev/null || return 0
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

cleanup() {
	local rc=$? i p
	trap - EXIT INT TERM
	if [ -n "$GH_PID" ] && kill -0 "$GH_PID" 2>/dev/null; then
		# workspaces outlive a daemon stop by design: stop the sessions first
		$PY "$HELPER" stopall "$GH_URL" "$TOKEN" >/dev/null 2>&1 || true
	fi
	[ -f "$SLURM_CONF" ] && scancel --quiet --full --signal=KILL -u root 2>/dev/null || true
	for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do stop_pid "${DAEMONS[i]}"; done
	for p in $(marked_pids); do
		[ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] || kill -KILL "$p" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "slurm_bench: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # logname cmd... : start a daemon in the foreground of a subshell
	local log=$1
	shift
	"$@" >"$WORK/$log.out" 2>&1 &
	DAEMONS+=($!)
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }'; }

# ---------------------------------------------------------------- Slurm
PORTS=($($PY "$HELPER" freeport 4))
CTLD_PORT=${PORTS[0]} N1_PORT=${PORTS[1]} N2_PORT=${PORTS[2]} GH_PORT=${PORTS[3]}

mungekey --create --keyfile="$WORK/munge.key" >/dev/null
chmod 600 "$WORK/munge.key"
start munged munged --foreground --socket="$WORK/munge.sock" --key-file="$WORK/munge.key" \
	--log-file="$WORK/munged.log" --pid-file="$WORK/munged.pid" --seed-file="$WORK/munged.seed"
for _ in $(seq 50); do [ -S "$WORK/munge.sock" ] && break; sleep 0.1; done
munge -S "$WORK/munge.sock" -n | unmunge -S "$WORK/munge.sock" >/dev/null ||
	die "munged did not start: $(tail -3 "$WORK/munged.out")"

# fake GPUs: character device nodes with the NVIDIA major, nothing behind them
mkdir -p "$WORK/dev/n1" "$WORK/dev/n2" "$WORK/state" "$WORK/spool-n1" "$WORK/spool-n2"
for n in 1 2; do
	for ((i = 0; i < GPUS_PER_NODE; i++)); do
		mknod "$WORK/dev/n$n/nvidia$i" c 195 $(((n - 1) * GPUS_PER_NODE + i)) 2>/dev/null ||
			: >"$WORK/dev/n$n/nvidia$i"
	done
done

cat >"$WORK/slurm.conf" <<EOF
ClusterName=ghbench
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$WORK/munge.sock
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool-%n
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd-%n.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd-%n.log
SlurmctldDebug=error
SlurmdDebug=error
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=$SLURM_SCHED
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=$((COUNT + 100))
MaxJobCount=100000
GresTypes=gpu
SlurmdParameters=config_overrides
ReturnToService=2
NodeName=n1 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$N1_PORT CPUs=$GPUS_PER_NODE RealMemory=1000 Gres=gpu:$GPUS_PER_NODE State=UNKNOWN
NodeName=n2 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$N2_PORT CPUs=$GPUS_PER_NODE RealMemory=1000 Gres=gpu:$GPUS_PER_NODE State=UNKNOWN
PartitionName=gpu Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP
EOF
cat >"$WORK/gres.conf" <<EOF
AutoDetect=off
NodeName=n1 Name=gpu File=$WORK/dev/n1/nvidia[0-$((GPUS_PER_NODE - 1))]
NodeName=n2 Name=gpu File=$WORK/dev/n2/nvidia[0-$((GPUS_PER_NODE - 1))]
EOF

start slurmctld slurmctld -D -i
start slurmd-n1 slurmd -D -N n1
start slurmd-n2 slurmd -D -N n2
ready=0
for _ in $(seq 150); do
	if [ "$(sinfo -h -N -o '%N %T %G' 2>/dev/null | grep -c " idle gpu:$GPUS_PER_NODE")" = 2 ]; then
		ready=1
		break
	fi
	sleep 0.2
done
if [ $ready = 0 ]; then
	sinfo -N 2>&1 | sed 's/^/  /' >&2 || true
	tail -5 "$WORK"/slurm*.out "$WORK"/slurm*.log >&2 2>/dev/null || true
	die "the Slurm cluster did not come up (two idle nodes with gpu:$GPUS_PER_NODE)"
fi
SLURM_VERSION=$(slurmctld -V | awk '{print $2}')
echo "== Slurm $SLURM_VERSION: 2 nodes x $GPUS_PER_NODE GPUs, controller on 127.0.0.1:$CTLD_PORT" >&2

slurm_idle() { # wait until no job is pending, running or completing
	for _ in $(seq 600); do
		[ -z "$(squeue -h -o %i 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	die "Slurm jobs still in the queue after 60 s"
}

slurm_round() { # mode name -> prints "submitted_s placed_s"
	local mode=$1 name=$2 t0 sub="" xpid pend done_n
	t0=$(now)
	if [ "$mode" = array ]; then
		sbatch --parsable --array=0-$((COUNT - 1)) --gres=gpu:1 -n1 -o /dev/null -J "$name" \
			--wrap true >"$WORK/$name.ids"
		sub=$(since "$t0")
	else
		seq 0 $((COUNT - 1)) | xargs -P "$SUBMITTERS" -I{} \
			sbatch --parsable --gres=gpu:1 -n1 -o /dev/null -J "$name" --wrap true \
			>"$WORK/$name.ids" &
		xpid=$!
	fi
	while :; do
		if [ -z "$sub" ] && ! kill -0 "$xpid" 2>/dev/null; then
			wait "$xpid" || die "an sbatch of $name failed"
			sub=$(since "$t0")
		fi
		pend=$(squeue -h -r -t PD -o %i | wc -l)
		if [ -n "$sub" ] && [ "$pend" = 0 ]; then break; fi
		sleep 0.1
	done
	echo "$sub $(since "$t0")"
	slurm_idle
	done_n=$(squeue -h -r -t all -n "$name" -o %T | grep -c '^COMPLETED$' || true)
	[ "$done_n" = "$COUNT" ] || {
		squeue -h -r -t all -n "$name" -o %T | sort | uniq -c >&2
		die "$name: $done_n of $COUNT jobs completed"
	}
}

# ---------------------------------------------------------------- gpuhub
cat >"$WORK/gpuhub.yaml" <<EOF
log:
  level: warn
sessions:
  max_per_user: $COUNT
EOF
GH_URL=http://127.0.0.1:$GH_PORT
GPUHUB_ADMIN_TOKEN=$TOKEN "$BIN" serve --listen "127.0.0.1:$GH_PORT" --data-dir "$WORK/gpuhub" \
	--gpus "sim:${NGPUS}xA100-80GB" --config "$WORK/gpuhub.yaml" >"$WORK/gpuhub.log" 2>&1 &
GH_PID=$!
DAEMONS+=("$GH_PID")
$PY "$HELPER" wait "$GH_URL" 30 || { tail -20 "$WORK/gpuhub.log" >&2; die "gpuhub did not start"; }
echo "== gpuhub: sim:${NGPUS}xA100-80GB on $GH_URL" >&2

gpuhub_round() { # name -> prints "submitted_s placed_s stop_retries"
	local out
	out=$($PY "$HELPER" burst "$GH_URL" "$TOKEN" "$COUNT" "$1" "$CREATORS" "$STOPPERS") ||
		die "gpuhub burst $1 failed"
	$PY "$HELPER" idle "$GH_URL" "$TOKEN" 60 || die "gpuhub sessions of $1 did not all stop"
	echo "$out" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["submitted_s"], d["placed_s"], d["stop_retries"])'
}

# ---------------------------------------------------------------- rounds
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A PLACED SUBMIT
RETRIES=0
for ((r = 1; r <= ROUNDS; r++)); do
	read -r s p n < <(gpuhub_round "gh-r$r")
	SUBMIT[gpuhub]+="$s "; PLACED[gpuhub]+="$p "; RETRIES=$((RETRIES + n))
	echo "round $r: gpuhub       submitted ${s}s, all placed ${p}s ($n stops retried)" >&2
	for m in $SLURM_MODES; do
		read -r s p < <(slurm_round "$m" "slurm-$m-r$r")
		SUBMIT[$m]+="$s "; PLACED[$m]+="$p "
		printf 'round %d: slurm %-6s submitted %ss, all placed %ss\n' "$r" "$m" "$s" "$p" >&2
	done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
	if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
best() { tr ' ' '\n' | grep . | sort -g | head -1 | awk '{ printf "%.3f\n", $1 }'; }
lower() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
rounds() { tr ' ' '\n' | grep . | awk '{ printf "%s%.2f", (NR > 1 ? ", " : ""), $1 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", a / b }'; }

GH_MED=$(echo "${PLACED[gpuhub]}" | median)
GH_BEST=$(echo "${PLACED[gpuhub]}" | best)
ROWS="| gpuhub, $CREATORS connections | $(echo "${SUBMIT[gpuhub]}" | median) s | $(echo "${PLACED[gpuhub]}" | rounds) | **$GH_MED s** | $GH_BEST s | 1 | 1 |"
SL_MED="" SL_BEST=""
for m in $SLURM_MODES; do
	med=$(echo "${PLACED[$m]}" | median)
	bst=$(echo "${PLACED[$m]}" | best)
	case $m in
	array) label="Slurm, one sbatch --array" ;;
	each) label="Slurm, $COUNT sbatch ($SUBMITTERS at a time)" ;;
	esac
	ROWS+=$'\n'"| $label | $(echo "${SUBMIT[$m]}" | median) s | $(echo "${PLACED[$m]}" | rounds) | **$med s** | $bst s | $(ratio "$med" "$GH_MED")× | $(ratio "$bst" "$GH_BEST")× |"
	SL_MED=$(lower "$med" "$SL_MED")
	SL_BEST=$(lower "$bst" "$SL_BEST")
done
SPEEDUP=$(ratio "$SL_MED" "$GH_MED")
SPEEDUP_BEST=$(ratio "$SL_BEST" "$GH_BEST")
MET=$(awk -v s="$SPEEDUP" 'BEGIN { print (s >= 10) ? "met" : "NOT met" }')

DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MACHINE="$(nproc) cores, $CPU, $(awk '/^MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain -- src 2>/dev/null)" ]; then COMMIT="$COMMIT+dirty"; fi
MUNGE_VERSION=$(munged --version 2>&1 | awk '{print $1; exit}')

REPORT=$(cat <<EOF

## Slurm side by side (bench/slurm_bench.sh) — $DATE

- machine: $MACHINE; commit $COMMIT; load average $LOAD_START at the start, $LOAD_END at the end
- Slurm $SLURM_VERSION ($SLURM_SCHED, select/cons_tres), $MUNGE_VERSION: two slurmd (n1, n2) with
  $GPUS_PER_NODE fake GPUs each; gpuhub sim:${NGPUS}xA100-80GB; both on 127.0.0.1
- method: a burst of $COUNT one-GPU requests on $NGPUS GPUs; each request, once placed, ends at
  once (Slurm: \`--wrap true\`; gpuhub: a \`sleep infinity\` workspace that the client stops as
  soon as it sees the session placed), so every GPU turns over ~$((COUNT / NGPUS)) times. Measured: wall time from the first
  submission until every request has been placed, as a client sees it (Slurm: no job left
  pending in \`squeue\`, polled every 0.1 s; gpuhub: all sessions seen with GPUs). $ROUNDS rounds,
  alternated; medians and best rounds compared.

| system | burst accepted (median) | all placed, per round (s) | all placed, median | best round | ÷ gpuhub (median) | ÷ gpuhub (best) |
|---|---|---|---|---|---|---|
$ROWS

Speedup of gpuhub over the faster Slurm submission: **${SPEEDUP}×** on medians (target ≥ 10×:
$MET), ${SPEEDUP_BEST}× on best rounds.
gpuhub stops refused and sent again (session still "starting"): $RETRIES in $ROUNDS rounds.
EOF
)
echo "$REPORT"
[ -f "$RESULTS" ] || printf '# Benchmark results\n' >"$RESULTS"
echo "$REPORT" >>"$RESULTS"
echo "slurm_bench: appended to $RESULTS" >&2
