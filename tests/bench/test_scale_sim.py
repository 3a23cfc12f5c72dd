"""The scale simulation runs end to end at a toy size: every generated model and repository is stored
(its own check; the figures themselves are measured by running the script, not by tests)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scale_sim.py"


def test_scale_sim_stores_everything_it_generates(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("scale_sim", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["scale_sim"] = module  # its dataclasses look their module up while being created
    spec.loader.exec_module(module)
    out = tmp_path / "figures.json"
    assert module.main(["--models", "2000", "--repos", "200", "--card-sample", "200", "--scan-repos", "0",
                        "--workdir", str(tmp_path), "--json", str(out)]) == 0
    stages = json.loads(out.read_text())["stages"]
    names = [stage["name"] for stage in stages]
    assert {"hf listing", "link (all)", "github"} <= set(names)
