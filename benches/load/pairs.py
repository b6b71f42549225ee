#!/usr/bin/env python3
"""Per-round comparison of two contenders of one load-harness run.

The harness runs every contender once per round and phase, so a round's two
runs are minutes (or, with short DURATION, seconds) apart and share the
machine's state at the time. On a machine whose speed drifts between rounds,
the ratio within a round is the figure to read, not the ratio of medians.

Usage: benches/load/pairs.py RAW.txt BASELINE CONTENDER
  RAW.txt    target/bench-harness/out/<run>/raw.txt
  BASELINE   e.g. haproxy-jwt
  CONTENDER  e.g. nexora

Prints, per phase: each round's req/s ratio and CPU-per-request ratio
(CONTENDER / BASELINE), their medians, how many rounds CONTENDER served
more requests, and the two-sided sign-test p-value of that count.
"""

import statistics
import sys
from math import comb


def parse(path):
    """{(phase, round): {contender: fields}} from the harness's raw.txt."""
    runs = {}
    with open(path) as f:
        for line in f:
            fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            if "rps" not in fields:
                continue
            key = (fields["phase"], int(fields["round"]))
            runs.setdefault(key, {})[fields["contender"]] = fields
    return runs


def cpu_us_per_request(fields):
    """Microseconds of the proxy's CPU per request served."""
    return float(fields["proxy_cpu_pct"]) / 100 * 1e6 / float(fields["rps"])


def sign_test(wins, n):
    """Two-sided p-value of `wins` out of `n` under a fair coin."""
    k = min(wins, n - wins)
    tail = sum(comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    path, base, other = sys.argv[1:]
    runs = parse(path)
    phases = list(dict.fromkeys(phase for phase, _ in runs))  # in the order they ran
    for phase in phases:
        rounds = sorted(r for p, r in runs if p == phase)
        pairs = [runs[(phase, r)] for r in rounds if base in runs[(phase, r)] and other in runs[(phase, r)]]
        if not pairs:
            continue
        rps = [float(p[other]["rps"]) / float(p[base]["rps"]) for p in pairs]
        cpu = [cpu_us_per_request(p[other]) / cpu_us_per_request(p[base]) for p in pairs]
        wins = sum(r > 1 for r in rps)
        print(f"{phase}: {other} / {base}, {len(pairs)} rounds")
        print("  req/s ratio per round:   " + " ".join(f"{r:.2f}" for r in rps))
        print("  CPU/req ratio per round: " + " ".join(f"{c:.2f}" for c in cpu))
        print(f"  median req/s ratio {statistics.median(rps):.3f}, median CPU/req ratio {statistics.median(cpu):.3f}")
        print(f"  {other} ahead in {wins} of {len(pairs)} rounds (sign test p = {sign_test(wins, len(pairs)):.3f})")


if __name__ == "__main__":
    main()
