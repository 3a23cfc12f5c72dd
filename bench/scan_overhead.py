"""What ptmscope adds to the scanners when there is nothing to share: its wall time vs the tools run directly.

Generates ``--repos`` repositories whose every file is different (the generator of ``scan_forks.py``,
each repository with its own seed and names), each a real git repository where ``ptmscope clone``
puts clones, and measures in the same run:
- direct: each tool run once from its command line over the directory holding all repositories,
  with the options ptmscope gives it (Bandit, Flawfinder, Semgrep with ptmscope's rule pack), one
  after the other; the model-file scanner has no command line and reads nothing here (no model files);
- ptmscope: ``scan_all`` over the same repositories into a new SQLite store, serially (no worker
  pool: the ratio is ptmscope's overhead), and again with the local process pool.
Direct and serial runs alternate ``--repeat`` times and the fastest of each counts, so that a busy
machine's noise does not land on one side. Prints the times and the ratios. Target (issue 4):
ptmscope serial within 1.15x of direct.

    python bench/scan_overhead.py [--repos 12] [--files 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scan_forks import HOST, files_of, make_files, make_repo, register


def direct(root: Path, tmp: Path) -> tuple[float, dict[str, int]]:
    """Each tool once over ``root``; its wall time and each tool's finding count."""
    from ptmscope.scan.semgrep import RULES

    semgrep = shutil.which("semgrep") or str(Path(sys.executable).with_name("semgrep"))
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    commands = {
        "bandit": [sys.executable, "-m", "bandit", "-r", str(root), "-f", "json", "-q", "--ignore-nosec",
                   "-o", str(tmp / "bandit.json")],
        "flawfinder": [sys.executable, "-m", "flawfinder", "--csv", "--minlevel=0", "--neverignore", "--quiet",
                       "--dataonly", str(root)],
        "semgrep": [semgrep, "scan", "--config", str(RULES), "--json", "--quiet", "--metrics=off",
                    "--disable-version-check", "--oss-only", "--no-rewrite-rule-ids", "--no-git-ignore",
                    "-o", str(tmp / "semgrep.json"), str(root)],
    }
    counts = {}
    start = time.perf_counter()
    for name, argv in commands.items():
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if name == "flawfinder":
            counts[name] = max(0, len(done.stdout.splitlines()) - 1)
        else:
            counts[name] = len(json.loads((tmp / f"{name}.json").read_text())["results"])
    return time.perf_counter() - start, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=12)
    parser.add_argument("--files", type=int, default=40, help="Python modules per repository")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from ptmscope.config import Settings
    from ptmscope.runtime.executors import LocalExecutor
    from ptmscope.scan.run import ScannerKey, make_scanners, scan_all
    from ptmscope.store import open_store

    with tempfile.TemporaryDirectory(prefix="ptmscope-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        settings = Settings(data_dir=tmp / "data")
        repos = []
        for n in range(args.repos):
            owner = f"lab{n:02d}"
            root = settings.repos_dir / HOST / owner / f"project{n:02d}"
            files = make_files(random.Random(args.seed * 1000 + n), f"{owner}/project{n:02d}", args.files)
            repos.append((owner, f"project{n:02d}", root, make_repo(root, files)))
        copies = [p.read_bytes() for _, _, root, _ in repos for p in files_of(root)]
        lines = sum(data.count(b"\n") for data in copies)
        print(f"{args.repos} repositories, {len(copies)} files ({len(set(copies))} distinct), {lines} lines")

        names = ["bandit", "flawfinder", "semgrep", "modelfiles"]
        direct_times, serial_times = [], []
        for n in range(args.repeat):
            scanners = make_scanners(names)  # fresh, as each `ptmscope scan` has: nothing cached
            seconds, counts = direct(settings.repos_dir, tmp)
            direct_times.append(seconds)
            url = f"sqlite:///{tmp / f'serial{n}.db'}"
            register(url, settings.repos_dir, repos)
            start = time.perf_counter()
            summary = scan_all(open_store(url), settings, scanners)
            serial_times.append(time.perf_counter() - start)
        direct_s, serial_s = min(direct_times), min(serial_times)
        print(f"direct, each tool once:        {direct_s:7.1f} s  (findings: "
              + ", ".join(f"{name} {n}" for name, n in counts.items()) + ")")
        print(f"ptmscope scan --all, serial:   {serial_s:7.1f} s  ({summary.invocations} scanner runs, "
              f"{summary.findings} findings stored)")
        print("  all runs: direct " + ", ".join(f"{t:.1f}" for t in direct_times)
              + "; serial " + ", ".join(f"{t:.1f}" for t in serial_times))
        start = time.perf_counter()
        for scanner in make_scanners(names):
            ScannerKey.of(scanner)
        print(f"  of which asking the scanners for their version and rule set: {time.perf_counter() - start:.1f} s")

        pooled_url = f"sqlite:///{tmp / 'pool.db'}"
        register(pooled_url, settings.repos_dir, repos)
        start = time.perf_counter()
        with LocalExecutor() as executor:
            scan_all(open_store(pooled_url), settings, make_scanners(names), executor)
        pooled_s = time.perf_counter() - start
        print(f"ptmscope scan --all, {os.cpu_count()} processes: {pooled_s:5.1f} s")
        print(f"ratio ptmscope / direct: {serial_s / direct_s:.2f}x serial (target <= 1.15x), "
              f"{pooled_s / direct_s:.2f}x with the pool")
    return 0


if __name__ == "__main__":
    sys.exit(main())
