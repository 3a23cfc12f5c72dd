"""`ptmscope demo` end to end: what `make demo` runs, offline, on the corpus ptmscope generates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq


def test_demo_runs_offline_and_writes_its_outputs(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "ptmscope.cli.main", "-q", "demo", "--out", str(out)],
                          check=False, capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HF_HUB_DISABLE_TELEMETRY": "1",
                               "HF_ENDPOINT": "http://127.0.0.1:9", "HOME": str(tmp_path)})
    # HF_ENDPOINT points at a closed local port: the demo must use its own replay server only.
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    # Month 2 sees exactly the month's changes: the incremental run the edits and uploads, the
    # full run the deletions and renames.
    assert "huggingface: 3000 new" in text
    assert "huggingface: 25 new, 40 updated, 0 deleted" in text
    assert "10 deleted, 3 renamed, 0 failed" in text
    rows = [json.loads(line) for line in (out / "models.jsonl").read_text().splitlines()]
    assert len(rows) == 3000 + 25 + 7  # Hugging Face models incl. deleted ones, plus PyTorch Hub
    assert sum(r["deleted"] for r in rows) == 10
    assert sum(bool(r["previous_ids"]) for r in rows) == 3
    assert pq.read_table(out / "models.parquet").num_rows == len(rows)
    coverage = json.loads((out / "coverage.json").read_text())
    assert coverage["models"] == 3000 + 25 - 10
    assert str(out) in text
