"""Where the default latency thresholds and the chance gate come from: how often healthy LLM traffic looks bad.

Healthy traffic is modelled as gateways see it: complete time log-normal around a 2 s median, capped at the
60 s stream timeout, 10-60 requests a minute per route. Everything is computed exactly from the binomial
distribution, except the error-noise part, which is a seeded simulation of 6-hour runs.

Usage: python bench/latency_defaults.py [--runs 300]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerting.rules.burn_rate import Gates, WindowCount, tier_trips  # noqa: E402
from schemas.noise import _upper_tail  # noqa: E402

MEDIAN_MS = 2000


def above(threshold_ms: float, median_ms: float, sigma: float) -> float:
    """P(one request slower than the threshold) for a log-normal latency."""
    z = math.log(threshold_ms / median_ms) / sigma
    return 0.5 * math.erfc(z / math.sqrt(2))


def tail(k: int, n: int, p: float) -> float:
    return 1.0 if k <= 0 else (0.0 if k > n else _upper_tail(k, n, p))


def minute_bad(threshold_ms: float, percentile: int, n: int, median_ms: float, sigma: float) -> float:
    """P(a minute of n requests has its nearest-rank pN above the threshold): more than (1 - q)·n are slower."""
    over_needed = math.floor((100 - percentile) * n / 100) + 1
    return tail(over_needed, n, above(threshold_ms, median_ms, sigma))


def page_chance(p_minute: float) -> float:
    """P(at least 5 bad minutes in a 30-minute window): what the 30m/3m page tier needs, at the least."""
    return tail(5, 30, p_minute)


def latency_table() -> list[dict[str, float]]:
    rows = []
    for percentile, threshold in ((50, 3000), (50, 5000), (90, 15000), (90, 20000), (90, 30000)):
        for sigma in (0.8, 1.0, 1.2):
            for n in (10, 20, 60):
                p = minute_bad(threshold, percentile, n, MEDIAN_MS, sigma)
                rows.append({"percentile": percentile, "threshold_ms": threshold, "sigma": sigma, "per_minute": n,
                             "healthy_minute_bad": p, "healthy_5_of_30": page_chance(p)})
    return rows


def slow_route_table() -> list[dict[str, float]]:
    rows = []
    for median in (4000, 6000, 10000):
        for n in (10, 20, 60):
            p = minute_bad(5000, 50, n, median, 1.0)
            rows.append({"median_ms": median, "per_minute": n, "minute_bad": p, "5_bad_in_10_minutes": tail(5, 10, p)})
    return rows


def false_tickets(per_minute: int, runs: int, gated: bool, rng: random.Random) -> float:
    """Share of 6-hour runs (after 6 h of history) in which a healthy route at 0.05 % errors trips the 1x ticket tier."""
    gates = Gates(10, 5, 0.001 if gated else 1.0)
    budget, threshold = Fraction(1, 1000), Fraction(1)
    fired = 0
    for _ in range(runs):
        bad = [sum(1 for _ in range(per_minute) if rng.random() < 0.0005) for _ in range(720)]
        cumulative = [0]
        for b in bad:
            cumulative.append(cumulative[-1] + b)
        for end in range(360, 721):
            long = WindowCount(cumulative[end] - cumulative[end - 360], 360 * per_minute)
            short = WindowCount(cumulative[end] - cumulative[end - 30], 30 * per_minute)
            if tier_trips(long, short, budget, threshold, gates):
                fired += 1
                break
    return fired / runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(20261123)
    latency, slow = latency_table(), slow_route_table()
    noise = [{"per_minute": n, "without_gate": false_tickets(n, args.runs, False, rng),
              "with_gate": false_tickets(n, args.runs, True, rng)} for n in (5, 10, 20, 30, 60, 100)]
    print("healthy minutes that look bad (median 2 s), and the chance of 5 such minutes in 30:")
    print(f"{'rule':>14} {'sigma':>5} {'req/min':>7} {'minute bad':>11} {'5 of 30':>10}")
    for r in latency:
        print(f"p{r['percentile']} > {r['threshold_ms'] / 1000:g} s".rjust(14)
              + f" {r['sigma']:>5} {r['per_minute']:>7} {r['healthy_minute_bad']:>11.2e} {r['healthy_5_of_30']:>10.2e}")
    print("\na slow route against p50 > 5 s (sigma 1):")
    for r in slow:
        print(f"median {r['median_ms'] / 1000:g} s, {r['per_minute']:>3} req/min: minute bad {r['minute_bad']:.2f}, "
              f"5 bad in a 10-minute slowdown {r['5_bad_in_10_minutes']:.3f}")
    print(f"\nhealthy routes at 0.05 % errors tripping the 360m/30m 1x ticket in a 6-hour run ({args.runs} runs each):")
    for r in noise:
        print(f"{r['per_minute']:>4} req/min: without the chance gate {r['without_gate']:.3f}, with it {r['with_gate']:.3f}")
    out = ROOT / "bench" / "results" / "latency_defaults.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"latency": latency, "slow_route": slow, "error_noise": noise}, indent=2) + "\n")


if __name__ == "__main__":
    main()
