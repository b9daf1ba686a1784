"""Benchmark: memory by stage of score-all's feature step (no store, no model), in-process.

Default: the world on disk (riskrank.world_blocks.open_world + riskrank.features.blocks.feature_blocks), printing
the resident memory after the small tables, after the context's signals, after the context, and between the
blocks. (The whole-world path it was once compared with, read_world + feature_parts, is gone: bench/RESULTS.md
keeps its figures.)

  flock /tmp/riskrank-bench.lock .venv/bin/python bench/bench_feature_blocks.py --world /tmp/w --as-of 2024-06-30
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path


def rss_gib() -> float:
    return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 2**20


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--as-of", default="2024-06-30")
    parser.add_argument("--rows-per-part", type=int, default=100_000)
    args = parser.parse_args()

    import pandas as pd
    import pyarrow as pa

    from riskrank.features import blocks
    from riskrank.features.pipeline import active_keys

    pa.set_memory_pool(pa.system_memory_pool())  # as score-all does
    t0 = time.perf_counter()

    def report(stage: str) -> None:
        print(f"{stage}: {time.perf_counter() - t0:.1f} s, rss {rss_gib():.2f} GiB, peak {peak_gib():.2f} GiB", flush=True)

    from riskrank.world_blocks import open_world

    disk = open_world(args.world)
    keys = active_keys(disk, pd.Timestamp(args.as_of))
    report(f"small tables read, {len(keys):,} keys")
    build = blocks.build_context

    def build_and_report(prepared, key_days):  # noqa: ANN001, ANN202
        report(f"context signals read and prepared ({sum(len(f) for f in prepared.signals.values()):,} rows)")
        ctx = build(prepared, key_days)
        report("context built")
        return ctx

    blocks.build_context = build_and_report  # type: ignore[assignment]
    parts = blocks.feature_blocks(disk, keys, rows_per_part=args.rows_per_part)
    rows, low, high = 0, float("inf"), 0.0
    for part in parts:
        rows += len(part)
        del part
        low, high = min(low, rss_gib()), max(high, rss_gib())
    report(f"{rows:,} rows; rss between parts {low:.2f}-{high:.2f} GiB")


if __name__ == "__main__":
    main()
