"""Does this machine keep its CPUs? A probe for the benchmarks, one per core.

Every 10 ms it does the same small piece of arithmetic and measures it in the thread's
own CPU time. On real hardware that time hardly varies; on a virtual machine whose host
takes the CPU away in small slices, the guest kernel still counts the lost time as the
thread's, so the same work suddenly "costs" many times more. Such windows slow the
server, Redis and the load alike, and no change to waitboard could shorten them, so the
benchmarks report them next to their latencies.

    python benchmarks/cpu_probe.py SECONDS   # prints one JSON line when done

Bounded: it stops after SECONDS (at most 600) and uses about 3% of its core.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

PERIOD_S = 0.010
SLOW_FACTOR = 3.0  # a unit that costs 3x the run's median is taken as the machine's
MERGE_S = 0.05  # slow units closer than this belong to one window


def unit() -> float:
    """CPU seconds for a fixed piece of pure arithmetic (no memory traffic, no I/O)."""
    start = time.thread_time()
    x = 1
    for _ in range(1500):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    return time.thread_time() - start


def windows(samples: list[tuple[float, float]], median: float) -> list[list[float]]:
    """[start, end, worst factor] of the stretches where units cost SLOW_FACTOR x more."""
    out: list[list[float]] = []
    for at, cost in samples:
        factor = cost / median
        if factor < SLOW_FACTOR:
            continue
        if out and at - out[-1][1] <= MERGE_S:
            out[-1][1] = at + cost
            out[-1][2] = max(out[-1][2], factor)
        else:
            out.append([at, at + cost, factor])
    return [[round(a, 4), round(b, 4), round(f, 1)] for a, b, f in out]


def main() -> None:
    seconds = min(600.0, float(sys.argv[1]))
    samples: list[tuple[float, float]] = []
    end = time.monotonic() + seconds
    while (now := time.monotonic()) < end:
        samples.append((now, unit()))
        time.sleep(PERIOD_S)
    median = statistics.median(cost for _, cost in samples)
    found = windows(samples, median)
    print(
        json.dumps(
            {
                "units": len(samples),
                "median_us": round(median * 1e6, 1),
                "slow_units": sum(1 for _, c in samples if c >= SLOW_FACTOR * median),
                "windows": found,
            }
        )
    )


if __name__ == "__main__":
    main()
