"""``ptmscope scan`` and ``ptmscope stats vulns`` as users run them: the JSON contract (DESIGN §6), exit
codes (0 ok, 1 findings at or above --fail-on, 2 usage errors), and Table 6 on a hand-built store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from ptmscope.analysis.vulns import NONE, TOTAL, vuln_table
from ptmscope.store import Store, open_store, schema
from tests.clirun import run_cli
from tests.scan.gitrepos import Link, fork_family, register, write

CONTRACT = ("scanner", "rule_id", "category", "vuln_type", "severity", "cwe", "path", "line", "message")





@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PTMSCOPE_DB", "PTMSCOPE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    write(root, {
        "src/app.py": b"import subprocess\n\n\ndef go(cmd):\n    subprocess.call(cmd, shell=True)\n",
        "src/helpers.py": b"import random\n\n\ndef pick(xs):\n    return random.choice(xs)\n",
        "old.py": b"print 'python 2'\n",
        "alias.py": Link("src/app.py"),
    })
    return root


def test_json_contract(tree: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["scan", str(tree), "--scanners", "bandit", "--format", "json"]) == 0
    document = json.loads(capfd.readouterr().out)
    assert set(document) == {"findings", "skipped"}
    findings = document["findings"]
    assert findings and all(set(CONTRACT) <= set(f) for f in findings)
    shell = next(f for f in findings if f["rule_id"] == "B602")
    assert shell == {**shell, "scanner": "bandit", "path": "src/app.py", "line": 5, "severity": "critical",
                     "cwe": "CWE-78", "vuln_type": "insecure_function", "category": "insecure_permission_function"}
    assert {f["path"] for f in findings} == {"src/app.py", "src/helpers.py"}  # relative to PATH
    skipped = {s["path"]: s["reason"] for s in document["skipped"]}
    assert skipped["alias.py"] == "symlink, not followed"
    assert "not valid Python 3" in skipped["old.py"]
    out = tmp_path / "report.json"
    assert run_cli(["scan", str(tree), "--scanners", "bandit", "-f", "json", "-o", str(out)]) == 0
    assert json.loads(out.read_bytes()) == document


def test_fail_on_sets_the_exit_status(tree: Path, tmp_path: Path) -> None:
    args = ["scan", str(tree), "--scanners", "bandit", "-f", "json", "-o", str(tmp_path / "r.json")]
    assert run_cli([*args, "--fail-on", "critical"]) == 1  # shell=True
    (tree / "src" / "app.py").unlink()
    assert run_cli([*args, "--fail-on", "critical"]) == 0  # random.choice alone is low
    assert run_cli([*args, "--fail-on", "low"]) == 1
    (tree / "src" / "helpers.py").unlink()
    assert run_cli([*args, "--fail-on", "low"]) == 0


def test_table_output(tree: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["scan", str(tree), "--scanners", "bandit"]) == 0
    out = capfd.readouterr().out
    assert "B602" in out and "src/app.py:5" in out
    assert "findings (1 critical" in out and "files skipped" in out


@pytest.mark.parametrize("argv", [
    ["scan"],
    ["scan", "missing-dir"],
    ["scan", ".", "--all"],
    ["scan", ".", "--scanners", "nosuch"],
    ["scan", ".", "--scanners", ","],
    ["scan", ".", "--fail-on", "severe"],
    ["scan", "--all", "--format", "sarif"],
])
def test_usage_errors_exit_2(argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli(argv) == 2


def test_scan_all_stores_findings_and_reports_a_summary(tmp_path: Path, sqlite_url: str,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    store = open_store(sqlite_url)
    register(store, data / "repos", fork_family(data / "repos", 2))
    argv = ["--db", sqlite_url, "--data-dir", str(data), "scan", "--all", "--scanners", "bandit", "-f", "json"]
    assert run_cli([*argv, "--fail-on", "critical"]) == 1
    first = json.loads(capfd.readouterr().out)
    assert (first["scanned"], first["failed"], first["up_to_date"]) == (3, 0, 0)
    assert first["severities"]["critical"] > 0
    assert run_cli(argv) == 0
    again = json.loads(capfd.readouterr().out)
    assert (again["scanned"], again["up_to_date"], again["blobs_scanned"]) == (0, 3, 0)
    assert again["severities"] == first["severities"]  # the store's current findings, not this run's


# --- Table 6 ---------------------------------------------------------------------------------------------


def _store_for_table6(store: Store) -> None:
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        def repo(name: str, sha: str, *perspectives: str) -> int:
            pk = int(conn.execute(insert(schema.repository).values(
                host="github.com", owner="o", name=name, full_name_lower=f"o/{name}", cloned_sha=sha,
                clone_status="cloned").returning(schema.repository.c.id)).scalar_one())
            for perspective in perspectives:
                conn.execute(insert(schema.repo_source).values(repository=pk, perspective=perspective))
            return pk

        def scan_(pk: int, scanner: str, commit: str, version: str, *severities: str) -> None:
            sid = conn.execute(insert(schema.scan).values(
                scanner=scanner, scanner_version=version, ruleset="r", repository=pk, commit=commit, status="ok",
                started_at=now, finished_at=now, files=1, skipped=[]).returning(schema.scan.c.id)).scalar_one()
            for n, severity in enumerate(severities):
                conn.execute(insert(schema.finding).values(scan=sid, rule_id=f"R{n}", severity=severity,
                                                           path="x.py", line=n + 1, message="m"))

        def model(model_id: str, pk: int, *kinds: str) -> None:
            mid = conn.execute(insert(schema.model).values(hub="huggingface", model_id=model_id, deleted=False)
                               .returning(schema.model.c.id)).scalar_one()
            for kind in kinds:
                conn.execute(insert(schema.link).values(model=mid, repository=pk, kind=kind, evidence="e"))

        a = repo("a", "a1", "paper", "model_card")
        b = repo("b", "b1", "paper")
        c = repo("c", "c1", "hf_org_fork")
        d = repo("d", "d1")
        repo("e", "e1", "paper")  # never scanned
        f = repo("f", "f2", "hf_org_fork")
        scan_(a, "bandit", "a1", "1", "high", "high", "high", "high", "high")  # superseded by version 2
        scan_(a, "bandit", "a1", "2", "high", "high", "low")
        scan_(a, "semgrep", "a1", "1", "critical")
        scan_(b, "bandit", "b1", "2", "medium", "medium", "medium")
        scan_(c, "bandit", "c1", "2", "high", "low", "low", "low", "low")
        scan_(d, "bandit", "d1", "2")
        scan_(f, "bandit", "f1", "2", *["high"] * 7)  # of a commit the clone has moved past
        model("org/m1", a, "model_card", "card_yaml")
        model("org/m2", b, "model_card")
        model("org/m3", c, "hf_org")
        conn.execute(insert(schema.paper).values(id=1, source="file", source_id="p"))
        conn.execute(insert(schema.link).values(paper=1, repository=c, kind="code_link", evidence="e"))


def test_table6_counts_current_scans_per_perspective(db_url: str, capfd: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(db_url)
    _store_for_table6(store)
    table = vuln_table(store)
    rows = {r.group: r for r in table.rows}
    assert [r.group for r in table.rows] == ["paper", "model_card", "hf_org_fork", NONE, TOTAL]

    def check(group: str, repos: int, with_findings: int, critical: int, high: int, medium: int, low: int) -> None:
        row = rows[group]
        assert (row.repositories, row.with_findings) == (repos, with_findings), group
        assert row.findings == {"critical": critical, "high": high, "medium": medium, "low": low}, group
        assert row.total == critical + high + medium + low

    check("paper", 2, 2, 1, 2, 3, 1)
    check("model_card", 1, 1, 1, 2, 0, 1)
    check("hf_org_fork", 1, 1, 0, 1, 0, 4)
    check(NONE, 1, 0, 0, 0, 0, 0)
    check(TOTAL, 4, 3, 1, 3, 3, 5)
    assert rows[TOTAL].average("high") == pytest.approx(0.75)
    assert rows["paper"].average() == pytest.approx(3.5)
    assert table.models_at_risk == 2
    assert [(m.model, m.repository, m.high) for m in table.models] == [("org/m1", "o/a", 3), ("org/m3", "o/c", 1)]

    assert run_cli(["--db", db_url, "stats", "vulns", "--format", "json"]) == 0
    document: dict[str, Any] = json.loads(capfd.readouterr().out)
    total = next(r for r in document["rows"] if r["group"] == TOTAL)
    assert total["findings"] == {"low": 5, "medium": 3, "high": 3, "critical": 1}
    assert total["average"]["total"] == pytest.approx(3.0)
    assert document["models_at_risk"] == 2
    monkeypatch.setenv("COLUMNS", "200")
    assert run_cli(["--db", db_url, "stats", "vulns"]) == 0
    text = capfd.readouterr().out
    assert "hf_org_fork" in text and "huggingface/org/m1 -> o/a: 3" in text


def test_scan_all_feeds_table6(tmp_path: Path, sqlite_url: str) -> None:
    data = tmp_path / "data"
    store = open_store(sqlite_url)
    register(store, data / "repos", fork_family(data / "repos", 2))
    assert run_cli(["--db", sqlite_url, "--data-dir", str(data), "scan", "--all", "--scanners", "bandit"]) == 0
    rows = {r.group: r for r in vuln_table(store).rows}
    assert rows["hf_org_fork"].repositories == rows[TOTAL].repositories == 3
    assert rows[TOTAL].findings["critical"] >= 3
