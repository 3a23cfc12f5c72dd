"""`ptmscope demo` end to end: what `make demo` runs, offline, on the corpus ptmscope generates."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq


def test_demo_runs_offline_and_writes_its_outputs(tmp_path: Path) -> None:
    out = tmp_path / "demo"

    def demo() -> subprocess.CompletedProcess[str]:
        # A relative --out, as `make demo` passes it.
        return subprocess.run([sys.executable, "-m", "ptmscope.cli.main", "-q", "demo", "--out", "demo"],
                              cwd=tmp_path, check=False, capture_output=True, text=True, timeout=600,
                              env={"PATH": "/usr/bin:/bin", "HF_HUB_DISABLE_TELEMETRY": "1",
                                   "HF_ENDPOINT": "http://127.0.0.1:9", "HOME": str(tmp_path)})

    first = demo()
    assert first.returncode == 0, first.stderr
    # Run again over the first run's output, as a second `make demo` does: the same results.
    proc = demo()
    # HF_ENDPOINT points at a closed local port: the demo must use its own replay server only.
    assert proc.returncode == 0, proc.stderr
    def same(text: str) -> str:
        return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)  # the replay server's port changes

    assert same(proc.stdout) == same(first.stdout)
    text = proc.stdout
    # Month 2 sees exactly the month's changes: the incremental run the edits and uploads, the
    # full run the deletions and renames.
    assert "huggingface: 3013 new" in text  # generated models plus the named ones the projects load
    assert "huggingface: 25 new, 40 updated, 0 deleted" in text
    assert "10 deleted, 4 renamed, 0 failed" in text
    rows = [json.loads(line) for line in (out / "models.jsonl").read_text().splitlines()]
    assert len(rows) == 3000 + 13 + 25 + 7  # Hugging Face models incl. deleted ones, plus PyTorch Hub
    assert sum(r["deleted"] for r in rows) == 10
    assert sum(bool(r["previous_ids"]) for r in rows) == 4
    by_id = {r["id"]: r for r in rows}
    assert by_id["google-bert/bert-base-uncased"]["previous_ids"] == ["bert-base-uncased"]
    assert pq.read_table(out / "models.parquet").num_rows == len(rows)
    coverage = json.loads((out / "coverage.json").read_text())
    assert coverage["models"] == 3000 + 13 + 25 - 10
    # The repository side: papers, links, GitHub metadata by perspective, and real clones.
    papers = [json.loads(line) for line in (out / "papers.jsonl").read_text().splitlines()]
    assert len(papers) == 10 and sum(bool(p["repos"]) for p in papers) == 6
    repos = {r["repo"]: r for r in map(json.loads, (out / "repositories.jsonl").read_text().splitlines())}
    perspectives = {p for r in repos.values() for p in r["perspectives"]}
    # "user": the forks of a paper's repository, cloned by name (the seed collects forks of the
    # Hugging Face organisation only).
    assert perspectives == {"model_card", "hub_catalogue", "paper", "hf_org", "hf_org_fork", "github_search", "user"}
    assert sum(r["status"] == "not_found" for r in repos.values()) >= 5
    assert sum(bool(r["previous_names"]) for r in repos.values()) == 1
    cloned = [r for r in repos.values() if r["clone_status"] == "cloned"]
    assert len(cloned) == 22 and all(r["cloned_sha"] for r in cloned)
    # The demo's own ML projects, one with a family of forks, are cloned with everything else.
    assert {"acme-ml/review-sentiment", "chat-tools/llm-runner", "speech-kit/asr-cli", "retail-insights/product-search",
            "lexica/tinybert", "acme-vision/tinynets", "alice-cv/tinynets", "bob-ai/tinynets",
            "carol-ml/tinynets"} <= {r["repo"] for r in cloned}
    assert "clone: 0 cloned, 1 updated, 21 unchanged" in text
    # Month 2 scans only the one repository that moved, and only its new content.
    assert "scan: 22 repositories scanned, 0 up to date, 0 failed" in text
    assert "scan: 1 repositories scanned, 21 up to date, 0 failed; 2 contents scanned, 1 reused" in text
    findings = [json.loads(line) for line in (out / "findings.jsonl").read_text().splitlines()]
    contract = {"scanner", "rule_id", "category", "vuln_type", "severity", "cwe", "path", "line", "message"}
    assert findings and all(contract <= f.keys() for f in findings)
    # The repository whose new commit pins its model revision has no unpinned-model finding any more.
    pinned = next(r for r in cloned if r["repo"] == "huggingface/transformers-demo")
    assert not [f for f in findings if f["repo"] == pinned["repo"] and f["vuln_type"] == "unpinned_model"]
    assert {f["rule_id"] for f in findings} >= {"B615", "PTM117"}
    links = [json.loads(line) for line in (out / "links.jsonl").read_text().splitlines()]
    assert {link["kind"] for link in links} >= {"model_card", "hub_declared", "paper_code"}
    # Downstream: which code loads which model (the rename of bert-base-uncased resolved), cards,
    # snapshots of the loaded models with their verdicts, licenses, and the report over all of it.
    usages = [json.loads(line) for line in (out / "usages.jsonl").read_text().splitlines()]
    loaded = {(u["repo"], u["model"]) for u in usages}
    assert {("lexica/tinybert", "google-bert/bert-base-uncased"),
            ("retail-insights/product-search", "demo-org/nc-embedder"),
            ("chat-tools/llm-runner", "demo-org/custom-arch"), ("acme-ml/review-sentiment", "demo-org/sst2-pickled"),
            ("carol-ml/tinynets", "vit_base_patch16_224")} <= loaded
    key = json.loads((out / "report" / "report.json").read_text())
    assert key["usage"]["call_sites"] == len(usages) and key["usage"]["trust_remote_code"] == 2
    assert key["licenses"]["by_verdict"]["incompatible"] == 1  # the non-commercial embedder in an MIT app
    assert key["links"]["downstream"] >= 20
    assert key["models"]["with_card_metadata"] > 2000 and key["models"]["base_model_edges"] > 1000
    assert (out / "report" / "report.html").is_file() and (out / "report" / "tables").is_dir()
    db = sqlite3.connect(out / "ptmscope.db")
    verdicts = dict(db.execute("select m.model_id, v.outcome from model_snapshot s join model m on m.id = s.model "
                               "join model_file_verdict v on v.sha256 = s.sha256 "
                               "where v.scanner = 'modelfiles' and s.path = 'pytorch_model.bin'"))
    assert verdicts["demo-org/sst2-pickled"] == "dangerous" and verdicts["meta-llama/Llama-2-7b-chat-hf"] == "clean"
    # The model code a trust_remote_code call would run was snapshotted and scanned.
    exposure = json.loads((out / "report" / "tables" / "remote_code_exposure.json").read_text())["rows"]
    custom = next(row for row in exposure if row["model"] == "demo-org/custom-arch")
    assert (custom["code"], custom["outcome"], custom["flagged"]) == ("modeling_custom.py", "dangerous", False)
    assert f"Report: {out / 'report' / 'report.html'}" in text
    assert str(out) in text
