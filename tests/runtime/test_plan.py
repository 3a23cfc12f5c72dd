"""The run plan: defaults, validation with one-line errors, and the pipeline's own run record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from ptmscope.errors import UsageError
from ptmscope.runtime.plan import STAGES, RunPlan, load_plan
from ptmscope.store import open_store, schema
from tests.clirun import run_cli


def test_no_file_means_every_default_stage() -> None:
    plan = load_plan(None)
    assert plan == RunPlan()
    # Snapshots download model weights: they are opt-in, everything else runs by default.
    assert plan.enabled() == [s for s in STAGES if s != "snapshot"]


def test_a_plan_file_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "ptmscope.toml"
    path.write_text('[huggingface]\nlimit = 10\ncards = false\n[snapshot]\nenabled = true\nmin_downloads = 1000\n'
                    '[[papers.queries]]\nsource = "openreview"\nvenue = "ICLR"\nyear = 2024\n'
                    '[scan]\nscanners = ["bandit"]\n', encoding="utf-8")
    plan = load_plan(path)
    assert plan.huggingface.limit == 10 and not plan.huggingface.cards
    assert plan.snapshot.enabled and plan.snapshot.min_downloads == 1000
    assert plan.papers.queries[0].venue == "ICLR"
    assert plan.scan.scanners == ["bandit"]


@pytest.mark.parametrize(("text", "message"), [
    ("[huggingface]\nlimt = 3\n", "huggingface.limt: Extra inputs are not permitted"),
    ('[scan]\nscanners = ["bandit", "nope"]\n', "unknown scanners ['nope']"),
    ("[huggingface]\nlimit = 0\n", "huggingface.limit"),
    ("[[papers.queries]]\nsource = 'myspace'\n", "papers.queries.0.source"),
    ("not toml = = 1\n", "not valid TOML"),
])
def test_mistakes_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_plan(path)


def test_cli_errors_are_one_line_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--data-dir", str(tmp_path), "run", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "config file not found" in capsys.readouterr().err
    assert run_cli(["--data-dir", str(tmp_path), "run", "--only", "hubs"]) == 2
    assert "unknown stages hubs" in capsys.readouterr().err


def test_check_prints_the_plan_without_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--data-dir", str(tmp_path), "run", "--check"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["snapshot"]["enabled"] is False
    assert not (tmp_path / "ptmscope.db").exists()


def test_a_run_is_recorded_with_stage_runs_and_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--data-dir", str(tmp_path), "run", "--only", "link"]) == 0
    assert run_cli(["--data-dir", str(tmp_path), "runs", "--format", "json"]) == 0
    out = capsys.readouterr().out
    runs = json.loads(out[out.index("["):])
    assert [r["stage"] for r in runs] == ["pipeline"]
    (pipeline,) = runs
    assert pipeline["status"] == "completed"
    assert pipeline["versions"]["ptmscope"] and pipeline["versions"]["bandit"]
    link_run = pipeline["counts"]["link"]["runs"][0]
    store = open_store(f"sqlite:///{tmp_path / 'ptmscope.db'}")
    with store.engine.connect() as conn:
        assert conn.execute(select(schema.run.c.stage).where(schema.run.c.id == link_run)).scalar_one() == "link"


def test_the_documented_example_is_a_valid_plan(tmp_path: Path) -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "run.md"
    example = doc.read_text(encoding="utf-8").split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "ptmscope.toml"
    path.write_text(example, encoding="utf-8")
    plan = load_plan(path)
    assert plan.github.searches == ["huggingface"] and plan.papers.queries[0].year == 2024
