#!/usr/bin/python3
"""fgd_bound.py — lower bounds on "unallocated GPU % at 100% arrived" in the
FGD experiment (gpuhub sim fgd), for any placement policy.

It rebuilds, for each seed, the exact arrival sequence `gpuhub sim fgd`
uses (the same splitmix64 shuffle and top-up as src/sim/sim_fgd.c) and
bounds what any policy could have allocated at the arrivals the metric reads
(those whose arrived % rounds to 100).

Relaxation: GPUs are bins of 1000 milli; node boundaries, host CPU and
memory, and models are dropped (each only makes placement harder, so a bound
without them holds with them). With W milli of whole-GPU tasks arrived, all
of them can be assumed placed (swapping the contents of any k GPUs for a
k-GPU task never loses allocation), so the fractional tasks get B = C - W
GPUs and

    unallocated >= C - W - V,   V = most fractional milli that fits in B GPUs.

V is bounded from above by Lagrangian duality of the pattern formulation:
for any prices pi_i >= 0 of the fraction sizes,

    V <= B * K(pi) + sum_i n_i pi_i,   K(pi) = max over one GPU's contents of
                                        sum (size_i - pi_i)   (a knapsack)

Every pi gives a valid bound; a subgradient descent looks for a good one.

Two bounds are printed per seed:
  any      any policy at all, online or not, even one that refuses tasks
  keep>0.5 any policy that places every fractional task above half a GPU
           that arrives by then (an online policy that never refuses a task
           that fits does, until the cluster is nearly full): each such task
           holds a GPU of its own whose rest only smaller tasks can use.

Usage: bench/fgd_bound.py [--seeds 42-51] [--iters N]   (trace from
$GPUHUB_TRACE_DIR, default ../shared/traces/alibaba-gpu-v2023)
"""
import argparse
import collections
import csv
import math
import os

M64 = (1 << 64) - 1


class Rng:
    """splitmix64 with the rejection draw of place_rng_below()."""

    def __init__(self, state):
        self.s = state & M64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def below(self, n):
        limit = M64 - (M64 % n)
        while True:
            x = self.next()
            if x < limit:
                return x % n


def load(trace_dir):
    cap = 0
    with open(os.path.join(trace_dir, "openb_node_list_gpu_node.csv")) as f:
        for r in csv.DictReader(f):
            cap += int(r["gpu"]) * 1000
    pods = []
    with open(os.path.join(trace_dir, "openb_pod_list_default.csv")) as f:
        for r in csv.DictReader(f):
            ng = int(r["num_gpu"])
            pods.append((ng, int(r["gpu_milli"]) if ng > 0 else 0))
    return cap, pods


def order(pods, cap, seed, ratio=1.3):
    """The arrival order of src/sim/sim_fgd.c build_order()."""
    rng = Rng(seed * 0x9E3779B97F4A7C15 + 1)
    o = list(range(len(pods)))
    total = sum(ng * gm for ng, gm in pods)
    target = int(ratio * cap)
    for i in range(len(o) - 1, 0, -1):
        k = rng.below(i + 1)
        o[i], o[k] = o[k], o[i]
    while total > 0 and len(o) < 64 * len(pods) + 1024:
        k = rng.below(len(pods))
        t = pods[k][0] * pods[k][1]
        if total + t > target:
            break
        o.append(k)
        total += t
    return o


UNIT = 10  # every fraction in the trace is a multiple of 10 milli


def knapsack(values, sizes, capacity):
    """Unbounded knapsack: best value and one best pattern."""
    best = [0.0] * (capacity + 1)
    choice = [-1] * (capacity + 1)
    for c in range(1, capacity + 1):
        b, ch = best[c - 1], -1
        for i, (v, s) in enumerate(zip(values, sizes)):
            if v > 0 and s <= c and best[c - s] + v > b:
                b, ch = best[c - s] + v, i
        best[c], choice[c] = b, ch
    pat, c = [0] * len(sizes), capacity
    while c > 0:
        if choice[c] < 0:
            c -= 1
        else:
            pat[choice[c]] += 1
            c -= sizes[choice[c]]
    return best[capacity], pat


def bestfit(count, bins):
    """A feasible packing (best fit decreasing): volume placed, milli."""
    free = collections.Counter()
    for capm, nb in bins:
        free[capm // UNIT] += nb
    placed = 0
    for s in sorted(count, reverse=True):
        u = s // UNIT
        for _ in range(count[s]):
            fit = [c for c in free if c >= u and free[c] > 0]
            if not fit:
                break
            c = min(fit)
            free[c] -= 1
            free[c - u] += 1
            placed += s
    return placed


def vmax(count, bins, iters):
    """Upper bound (milli) on the fraction volume that fits in `bins`
    [(capacity milli, how many)]; count: {size milli: tasks}. Also returns
    the volume a best-fit packing reaches (how tight the bound is)."""
    sizes = sorted(count)
    if not sizes:
        return 0.0, 0.0
    for s in sizes:
        assert s % UNIT == 0, "fractions must be multiples of 10 milli"
    su = [s // UNIT for s in sizes]
    n = [count[s] for s in sizes]
    lo = bestfit(count, bins) / UNIT
    pi = [0.3 * s for s in su]
    best = float(sum(a * b for a, b in zip(su, n)))  # all of them: always a bound
    for _ in range(iters):
        val = sum(a * b for a, b in zip(n, pi))
        g = n[:]
        vals = [s - p for s, p in zip(su, pi)]
        for capm, nb in bins:
            k, pat = knapsack(vals, su, capm // UNIT)
            val += nb * k
            g = [x - nb * a for x, a in zip(g, pat)]
        best = min(best, val)
        norm2 = sum(x * x for x in g)
        if norm2 == 0 or best - lo < 1e-6:
            break
        # Polyak's step towards the volume a packing is known to reach.
        step = (val - lo) / norm2
        pi = [min(s, max(0.0, p - step * x)) for p, x, s in zip(pi, g, su)]
    return best * UNIT, lo * UNIT


def bounds(cap, pods, seed, iters):
    o = order(pods, cap, seed)
    arrived = 0
    last = None
    for i, k in enumerate(o):
        arrived += pods[k][0] * pods[k][1]
        if arrived * 100.0 / cap >= 100.5:
            break
        if math.floor(arrived * 100.0 / cap + 0.5) == 100:  # as sim_fgd.c reads
            last = i
    tasks = [pods[k] for k in o[: last + 1]]
    w = sum(ng * 1000 for ng, gm in tasks if ng > 1 or (ng == 1 and gm >= 1000))
    frac = collections.Counter(gm for ng, gm in tasks if ng == 1 and gm < 1000)
    b = (cap - w) // 1000
    v_any, p_any = vmax(frac, [(1000, b)], iters)
    large = {s: k for s, k in frac.items() if s > 500}
    small = collections.Counter({s: k for s, k in frac.items() if s <= 500})
    nlarge = sum(large.values())
    assert b >= nlarge, "more large fractions than GPUs left by whole tasks"
    bins = [(1000 - s, k) for s, k in large.items()] + [(1000, b - nlarge)]
    v_small, p_small = vmax(small, bins, iters)
    v_large = sum(s * k for s, k in large.items())
    v_keep, p_keep = v_large + v_small, v_large + p_small
    pct = lambda v: 100.0 * (cap - w - v) / cap
    return pct(v_any), pct(p_any), pct(v_keep), pct(p_keep)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="42-51")
    ap.add_argument("--iters", type=int, default=1500)
    a = ap.parse_args()
    lo, _, hi = a.seeds.partition("-")
    seeds = range(int(lo), int(hi or lo) + 1)
    trace = os.environ.get("GPUHUB_TRACE_DIR", "../shared/traces/alibaba-gpu-v2023")
    cap, pods = load(trace)
    print("unallocated GPU % at 100% arrived: lower bound (what a best-fit packing of the")
    print("same tasks, knowing them all in advance, leaves)")
    print("seed       any         keep>0.5")
    tot = [0.0] * 4
    for s in seeds:
        r = bounds(cap, pods, s, a.iters)
        tot = [x + y for x, y in zip(tot, r)]
        print(f"{s:4d} {r[0]:5.2f} ({r[1]:4.2f})  {r[2]:5.2f} ({r[3]:4.2f})")
    m = [x / len(seeds) for x in tot]
    print(f"mean {m[0]:5.2f} ({m[1]:4.2f})  {m[2]:5.2f} ({m[3]:4.2f})")


if __name__ == "__main__":
    main()
