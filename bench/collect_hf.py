"""Ingest speed and memory of `collect huggingface` against the replay server.

Serves N generated Hub records (shaped like real ones, 1,000 per page, in a separate process so
its memory is not counted) and measures, each in a fresh process:
- baseline: the same pages read with huggingface_hub's paginate and nothing else (the ceiling
  the client and the local server allow);
- ptmscope: the full `collect huggingface --no-cards` into a new SQLite store.
Prints models/s, the ratio to the baseline, and peak RSS per N, so memory growth with N shows.
Target (issue 2): >= 5,000 models/s into SQLite on 2 cores, and peak memory flat in N.

    python bench/collect_hf.py [--sizes 25000,50000,100000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def serve(n: int, seed: int, ready: mp.Queue) -> None:  # type: ignore[type-arg]
    from ptmscope.replay import HuggingFaceApp, ReplayServer
    from ptmscope.replay.corpus import synthetic_hub

    corpus = synthetic_hub(n, seed, cards=False)
    server = ReplayServer(HuggingFaceApp(corpus)).start()
    ready.put(server.url)
    while True:
        time.sleep(3600)


def measure(mode: str, endpoint: str, n: int) -> dict[str, float]:
    """Runs in a fresh interpreter so that ru_maxrss is this measurement's peak alone."""
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    from ptmscope.config import Settings
    from ptmscope.hubs.collect import HfOptions, collect_huggingface
    from ptmscope.hubs.huggingface import HuggingFaceHub
    from ptmscope.store import open_store

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hub = HuggingFaceHub(Settings(hf_endpoint=endpoint))
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        start = time.perf_counter()
        if mode == "baseline":
            seen = sum(1 for _ in hub.list_raw())
        else:
            summary = collect_huggingface(store, hub, HfOptions(cards=False))
            seen = summary.new
        elapsed = time.perf_counter() - start
    hub.close()
    assert seen == n, f"{mode} saw {seen} of {n} models"
    return {"models": seen, "seconds": elapsed, "per_second": seen / elapsed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "import_rss_mb": rss_before / 1024}


def run_in_subprocess(mode: str, endpoint: str, n: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--measure", mode, "--endpoint", endpoint, "--n", str(n)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="25000,50000,100000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--measure", choices=["baseline", "ptmscope"], help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.endpoint, args.n)))
        return

    print(f"collect huggingface bench: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"{'models':>8} {'baseline/s':>11} {'ptmscope/s':>11} {'ratio':>6} {'peak RSS MB':>12}")
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        ready: mp.Queue = mp.Queue()  # type: ignore[type-arg]
        server = mp.Process(target=serve, args=(n, args.seed, ready), daemon=True)
        server.start()
        endpoint = ready.get(timeout=600)
        try:
            base = run_in_subprocess("baseline", endpoint, n)
            ours = run_in_subprocess("ptmscope", endpoint, n)
        finally:
            server.terminate()
            server.join()
        results.append((n, base, ours))
        print(f"{n:>8} {base['per_second']:>11,.0f} {ours['per_second']:>11,.0f} "
              f"{ours['per_second'] / base['per_second']:>6.2f} {ours['peak_rss_mb']:>12.0f}")
    first, last = results[0], results[-1]
    growth = last[2]["peak_rss_mb"] / first[2]["peak_rss_mb"]
    print(f"peak RSS at {last[0]:,} models / at {first[0]:,} models: {growth:.2f} "
          f"(flat memory is ~1.0; the model count grew {last[0] / first[0]:.1f}x)")
    target = 5000
    best = last[2]["per_second"]
    print(f"ptmscope at {last[0]:,} models: {best:,.0f} models/s "
          f"({'meets' if best >= target else 'below'} the {target:,}/s target)")


if __name__ == "__main__":
    main()
