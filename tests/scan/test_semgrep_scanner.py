"""The Semgrep scanner runs the real semgrep, offline, on a small repository with known vulnerable and
safe lines, a notebook, settings files with tokens, a huge data-like file and a broken file."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from ptmscope.scan.interface import ScanOutcome, ScanTarget
from ptmscope.scan.semgrep import SemgrepScanner, SemgrepUnavailableError, notebook_module
from ptmscope.scan.tooling import ToolError

HF_TOKEN = "hf_" + "QwErTyUiOpAsDfGhJkLzXcVbNmQwErTyUi"  # split: the source itself holds no token
GITHUB_TOKEN = "ghp_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEf1234"

VULNERABLE_PY = """\
import os
import subprocess

import joblib
import numpy as np
import requests
import torch
import yaml
from transformers import AutoModel, AutoTokenizer, pipeline


def load(path, weights_url, kwargs):
    state = torch.load(path)
    legacy = torch.load(path, **kwargs)
    arrays = np.load(path, allow_pickle=True)
    forest = joblib.load(path)
    config = yaml.load(open(path), Loader=yaml.FullLoader)
    model = AutoModel.from_pretrained("org/model", trust_remote_code=True)
    tokenizer = AutoTokenizer.from_pretrained("org/model", revision="main")
    blob = requests.get(weights_url, verify=False, timeout=10)
    return state, legacy, arrays, forest, config, model, tokenizer, blob


def agent(model, tokenizer, inputs):
    command = tokenizer.decode(model.generate(**inputs)[0])
    subprocess.run(command, shell=True)
"""
VULNERABLE_FINDINGS = {
    ("PTM101", 13), ("PTM102", 14), ("PTM106", 15), ("PTM104", 16), ("PTM116", 17), ("PTM110", 18),
    ("PTM117", 18), ("PTM117", 19), ("PTM127", 20), ("PTM113", 26),
}

SAFE_PY = """\
import json
import os

import numpy as np
import torch
import yaml
from huggingface_hub import hf_hub_download
from transformers import AutoModel

SHA = "0123456789abcdef0123456789abcdef01234567"


def load(path, data):
    state = torch.load(path, weights_only=True)
    arrays = np.load(path)
    config = yaml.safe_load(open(path))
    model = AutoModel.from_pretrained("org/model", revision=SHA)
    local = AutoModel.from_pretrained("./checkpoints/best")
    weights = hf_hub_download("org/model", "model.safetensors", revision=SHA)
    token = os.environ["HF_TOKEN"]
    return state, arrays, config, model, local, weights, token, json.loads(data)
"""

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Fine-tuning\n", f"Log in with {HF_TOKEN}\n"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
         "source": ["import numpy as np\n", "!pip install torch\n", "import torch"]},
        {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
         "source": ["%%time\n", "if True:\n", "    !nvidia-smi\n",
                    "    features = np.load('features.npy', allow_pickle=True)\n",
                    "    safe = np.load('labels.npy')\n"]},
        {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [],
         "source": ["%%bash\n", f"git clone https://{GITHUB_TOKEN}@github.com/org/private.git\n"]},
        {"cell_type": "code", "execution_count": 4, "metadata": {}, "outputs": [],
         "source": "model = torch.load('model.pt', weights_only=True)\nother = torch.load('other.pt')\n"},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}

TRAINING_YAML = """\
base_model: org/model
trust_remote_code: true
tokenizer:
  trust_remote_code: false
"""

MAX_BYTES = 20_000
CELL = re.compile(r" \[cell (\d+)\]$")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    files = {
        "src/train.py": VULNERABLE_PY,
        "src/safe.py": SAFE_PY,
        # Python 2 and a syntax error: the parsable part is still scanned.
        "tests/broken.py": "print 'legacy'\n)))\nimport torch\nstate = torch.load('x.pt')\n",
        "demo.ipynb": json.dumps(NOTEBOOK, indent=1),
        ".env": f"HF_TOKEN={HF_TOKEN}\nDATABASE_URL=postgresql://trainer:Tr41nSecr3t@db.internal/features\n",
        "configs/train.yaml": TRAINING_YAML,
        "labels.py": "LABELS = [\n" + "".join(f"    'class {n}',  # torch.load(x)\n" for n in range(2000)) + "]\n",
        "README.md": "Set `HF_TOKEN` in your environment.\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "link.py").symlink_to(root / "src" / "train.py")
    return root


def _targets(root: Path, scanner: SemgrepScanner) -> list[ScanTarget]:
    paths = sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())
    targets = [ScanTarget(p, p.relative_to(root).as_posix()) for p in paths]
    return [t for t in targets if scanner.accepts(t)]


@pytest.fixture(scope="module")
def outcome(repo: Path) -> ScanOutcome:
    scanner = SemgrepScanner(max_target_bytes=MAX_BYTES)
    return scanner.scan(_targets(repo, scanner))


def _found(outcome: ScanOutcome, path: str) -> set[tuple[str, int | None]]:
    return {(f.rule_id, f.line) for f in outcome.findings if f.path == path}


def test_vulnerable_lines_give_exactly_the_expected_findings(outcome: ScanOutcome) -> None:
    assert _found(outcome, "src/train.py") == VULNERABLE_FINDINGS
    first = next(f for f in outcome.findings if f.path == "src/train.py" and f.rule_id == "PTM101")
    assert (first.scanner, first.severity, first.vuln_type, first.category, first.cwe) == (
        "semgrep", "high", "unsafe_deserialization", "ai_specific", "CWE-502")
    assert (first.original_severity, first.confidence, first.column, first.end_line) == ("ERROR", "MEDIUM", 13, 13)
    assert first.snippet == "    state = torch.load(path)"
    assert "weights_only=True" in first.message


def test_safe_lines_give_nothing(outcome: ScanOutcome) -> None:
    assert _found(outcome, "src/safe.py") == set()
    assert _found(outcome, "README.md") == set()


def test_notebook_findings_name_the_cell_and_the_line_in_it(outcome: ScanOutcome) -> None:
    found = {(f.rule_id, int(CELL.findall(f.message)[0]), f.line)
             for f in outcome.findings if f.path == "demo.ipynb"}
    # np.load resolves through the import in cell 1; magics and %%time do not break parsing;
    # tokens are found in markdown and in a %%bash cell; the pinned torch.load is not reported.
    assert found == {("PTM122", 0, 2), ("PTM106", 2, 4), ("PTM125", 3, 2), ("PTM101", 4, 2)}
    evaluated = next(f for f in outcome.findings if f.path == "demo.ipynb" and f.rule_id == "PTM106")
    assert evaluated.message.endswith(" [cell 2]")
    assert evaluated.snippet == "    features = np.load('features.npy', allow_pickle=True)"
    assert evaluated.column == 16


def test_tokens_in_settings_files_are_found_and_masked(outcome: ScanOutcome) -> None:
    assert _found(outcome, ".env") == {("PTM122", 1), ("PTM126", 2)}
    assert _found(outcome, "configs/train.yaml") == {("PTM111", 2)}
    for finding in outcome.findings:
        if finding.vuln_type in ("secret", "password"):
            assert finding.snippet is not None
            assert HF_TOKEN not in finding.snippet and GITHUB_TOKEN not in finding.snippet
            assert "Tr41nSecr3t" not in finding.snippet
    token = next(f for f in outcome.findings if f.path == ".env" and f.rule_id == "PTM122")
    assert token.snippet == "HF_TOKEN=hf_QwE…"
    assert (token.vuln_type, token.category, token.cwe) == ("secret", "secret", "CWE-798")


def test_bad_files_are_skipped_with_reasons_and_the_rest_is_scanned(outcome: ScanOutcome) -> None:
    reasons = {s.path: s.reason for s in outcome.skipped}
    assert set(reasons) == {"tests/broken.py", "labels.py", "link.py"}
    assert reasons["tests/broken.py"] == "semgrep: syntax error, line 2 not analysed (the rest was scanned)"
    assert reasons["labels.py"].startswith(f"larger than {MAX_BYTES} bytes")
    assert "symbolic link" in reasons["link.py"]
    # A tests/ directory is scanned (Semgrep's default ignore list would leave it out), and the
    # parsable rest of the broken file still is.
    assert _found(outcome, "tests/broken.py") == {("PTM101", 4)}
    assert _found(outcome, "labels.py") == set()


def test_accepts_python_notebooks_and_settings_but_not_other_files(tmp_path: Path) -> None:
    scanner = SemgrepScanner()
    accepted = ["a.py", "b/C.IPYNB", ".env", ".env.local", "prod.env", "x.yml", "x.yaml", "x.json", "x.toml",
                "x.cfg", "x.ini", "run.sh", "requirements.txt", "README.md", "docker/Dockerfile"]
    refused = ["a.c", "a.cu", "model.pt", "image.png", "weights.safetensors", "Makefile", "data.csv"]
    assert [n for n in accepted if not scanner.accepts(ScanTarget(tmp_path / "x", n))] == []
    assert [n for n in refused if scanner.accepts(ScanTarget(tmp_path / "x", n))] == []


def test_version_and_ruleset() -> None:
    scanner = SemgrepScanner()
    assert scanner.version().split(".")[0] == "1"
    assert scanner.version() is scanner.version()  # asked once per process
    digest = scanner.ruleset()
    assert len(digest) == 64 and digest == SemgrepScanner().ruleset()
    assert SemgrepScanner(max_target_bytes=1000).ruleset() != digest


def _fake_semgrep(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "semgrep"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_semgrep_runs_offline_with_a_private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "log"
    fake = _fake_semgrep(tmp_path, f'echo "$@" > {log}; env > {log}.env; ls -A >> {log}.ls\n'
                                   'echo \'{"results": [], "errors": []}\'')
    monkeypatch.setenv("SEMGREP_APP_TOKEN", "secret-app-token")
    monkeypatch.setenv("SEMGREP_RULES", "p/default")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "a.py").write_text("x = 1\n", encoding="utf-8")
    outcome = SemgrepScanner(executable=fake).scan([ScanTarget(tmp_path / "tests" / "a.py", "tests/a.py")])
    assert outcome == ScanOutcome()
    argv = log.read_text(encoding="utf-8").split()
    for flag in ("--metrics=off", "--disable-version-check", "--oss-only", "--no-rewrite-rule-ids", "--json"):
        assert flag in argv
    assert argv[argv.index("--config") + 1].endswith("scan/rules/ptmscope.yaml")
    env = dict(line.split("=", 1) for line in log.with_suffix(".env").read_text(encoding="utf-8").splitlines()
               if "=" in line)
    assert "SEMGREP_APP_TOKEN" not in env and "SEMGREP_RULES" not in env
    assert env["SEMGREP_SEND_METRICS"] == "off" and env["SEMGREP_ENABLE_VERSION_CHECK"] == "0"
    assert env["HOME"] != os.environ.get("HOME") and "ptmscope-semgrep-" in env["HOME"]
    # Staged under a neutral flat name: no directory of the scanned tree reaches Semgrep.
    assert log.with_suffix(".ls").read_text(encoding="utf-8").split() == ["1.py"]


def test_a_failed_run_raises_for_the_caller_to_isolate(tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_text("x = 1\n", encoding="utf-8")
    crashing = SemgrepScanner(executable=_fake_semgrep(tmp_path, "echo boom >&2; exit 7"))
    with pytest.raises(ToolError, match="exit status 7: boom"):
        crashing.scan([ScanTarget(target, "a.py")])
    (tmp_path / "garbled").mkdir()
    garbled = SemgrepScanner(executable=_fake_semgrep(tmp_path / "garbled", "echo not json"))
    with pytest.raises(ToolError, match="no JSON report"):
        garbled.scan([ScanTarget(target, "a.py")])


def test_missing_semgrep_is_a_clear_error(tmp_path: Path) -> None:
    scanner = SemgrepScanner(executable=tmp_path / "no-such-semgrep")
    with pytest.raises(SemgrepUnavailableError, match="no-such-semgrep"):
        scanner.version()


def test_notebook_module_keeps_lines_in_place() -> None:
    module = notebook_module(json.dumps(NOTEBOOK).encode())
    assert module.lines[:3] == ["# # Fine-tuning", f"# Log in with {HF_TOKEN}", "import numpy as np"]
    assert module.lines[3] == "pass  # !pip install torch"
    assert module.lines[5:8] == ["pass  # %%time", "if True:", "    pass  # !nvidia-smi"]
    assert module.lines[10] == "# %%bash"
    assert [(o.cell, o.line) for o in module.origin[:4]] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert module.origin[7].text == "    !nvidia-smi" and module.origin[7].shift == len("pass  # ")
    r_kernel = dict(NOTEBOOK, metadata={"kernelspec": {"language": "R"}})
    assert all(line.startswith("# ") for line in notebook_module(json.dumps(r_kernel).encode()).lines)
    with pytest.raises(ValueError, match="not a notebook"):
        notebook_module(b"{not json")
