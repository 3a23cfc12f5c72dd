"""Bandit and Flawfinder run for real on small repositories with known vulnerable and safe lines."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from ptmscope.scan import bandit as bandit_module
from ptmscope.scan import tooling
from ptmscope.scan.bandit import BanditScanner, notebook_code
from ptmscope.scan.flawfinder import FlawfinderScanner
from ptmscope.scan.interface import Finding, Scanner, ScanOutcome, ScanTarget

VULNERABLE_PY = """\
import hashlib
import pickle
import subprocess

import requests
import torch
import yaml
from transformers import AutoModel


def load(path, cmd, data, url):
    model = torch.load(path)
    net = AutoModel.from_pretrained("bert-base-uncased")
    config = yaml.load(open(path))
    subprocess.call(cmd, shell=True)
    obj = pickle.loads(data)
    digest = hashlib.md5(data).hexdigest()
    weights = requests.get(url, verify=False, timeout=10)
    exec(data)  # nosec
    return model, net, config, obj, digest, weights
"""

SAFE_PY = """\
import json

import torch
import yaml
from huggingface_hub import hf_hub_download


def load(path, data):
    model = torch.load(path, weights_only=True)
    weights = hf_hub_download("org/model", "model.safetensors", revision="0123456789abcdef0123456789abcdef01234567")
    config = yaml.safe_load(open(path))
    return model, weights, config, json.loads(data)
"""

NOTEBOOK = {
    "nbformat": 4, "nbformat_minor": 5, "metadata": {},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Demo\n", "eval(x)\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 1,
         "source": ["import subprocess\n", "%matplotlib inline\n", "!pip install torch\n",
                    "subprocess.call(cmd, shell=True)\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 2, "source": "print 'hello'\n"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 3,
         "source": ["%%bash\n", "eval \"$x\"\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 4,
         "source": ["files = !ls\n", "for name in files:\n", "    !echo $name\n", "    eval(name)\n"]},
        {"cell_type": "raw", "metadata": {}, "source": ["exec(y)\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 5,
         "source": ["%%time\n", "import torch\n", "model?\n", "torch.load('m.pt')\n"]},
    ],
}

VULNERABLE_C = """\
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    char buf[16];
    strcpy(buf, argv[1]);
    printf("constant\\n");
    printf(argv[1]);
    gets(buf);
    sprintf(buf, argv[2], 1);
    system(argv[1]); /* Flawfinder: ignore */
    fread(buf, 1, 1, stdin);
    strncpy(buf, "ok", sizeof(buf));
    return 0;
}
"""

SAFE_C = """\
#include <stddef.h>

static int add(int a, int b) { return a + b; }

size_t twice(size_t n) { return (size_t) add((int) n, (int) n); }
"""


def _targets(root: Path) -> list[ScanTarget]:
    return [ScanTarget(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*")) if not p.is_dir()]


def _hits(findings: Sequence[Finding]) -> set[tuple[str, str, int | None]]:
    return {(f.path, f.rule_id, f.line) for f in findings}


def _scan(scanner: Scanner, root: Path) -> ScanOutcome:
    return scanner.scan([t for t in _targets(root) if scanner.accepts(t)])


@pytest.fixture
def python_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "vulnerable.py").write_text(VULNERABLE_PY, encoding="utf-8")
    (root / "pkg" / "safe.py").write_text(SAFE_PY, encoding="utf-8")
    (root / "legacy.py").write_text('import os\nprint "hello", os.name\n', encoding="utf-8")
    (root / "blob.py").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00eval(x)\n")
    (root / "latin1.py").write_bytes(b'x = "caf\xe9"\n')
    (root / "demo.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    (root / "broken.ipynb").write_text("{not json", encoding="utf-8")
    (root / "link.py").symlink_to(root / "pkg" / "vulnerable.py")
    (root / "README.md").write_text("eval(x)\n", encoding="utf-8")
    (root / os.fsdecode(b"caf\xe9.py")).write_text("import pickle\n", encoding="utf-8")  # a name that is not UTF-8
    return root


def test_bandit_reports_the_known_lines_and_nothing_on_safe_code(python_repo: Path) -> None:
    out = _scan(BanditScanner(), python_repo)
    vulnerable = "pkg/vulnerable.py"
    assert {h for h in _hits(out.findings) if h[0] != "demo.ipynb"} == {
        (vulnerable, "B403", 2), (vulnerable, "B404", 3),
        (vulnerable, "B614", 12), (vulnerable, "B615", 13), (vulnerable, "B506", 14),
        (vulnerable, "B602", 15), (vulnerable, "B301", 16), (vulnerable, "B324", 17),
        (vulnerable, "B501", 18),
        (vulnerable, "B102", 19),  # "# nosec" does not hide it: the audited code does not silence its auditor
        ("caf\udce9.py", "B403", 1),
    }
    by_rule = {f.rule_id: f for f in out.findings if f.path == vulnerable}
    torch_load = by_rule["B614"]
    assert (torch_load.vuln_type, torch_load.category, torch_load.severity, torch_load.cwe) == (
        "unsafe_deserialization", "ai_specific", "medium", "CWE-502")
    assert (torch_load.original_severity, torch_load.confidence) == ("MEDIUM", "HIGH")
    assert torch_load.snippet == "model = torch.load(path)"
    assert torch_load.column == 13
    assert torch_load.end_line == 12
    shell = by_rule["B602"]
    assert (shell.vuln_type, shell.severity, shell.cwe) == ("insecure_function", "critical", "CWE-78")
    assert by_rule["B615"].vuln_type == "unpinned_model"
    assert by_rule["B324"].severity == "high"  # capped: a weak hash is not critical on its own


def test_bandit_skips_what_it_cannot_read_with_the_reason(python_repo: Path) -> None:
    out = _scan(BanditScanner(), python_repo)
    skipped = {s.path: s.reason for s in out.skipped}
    assert "Missing parentheses in call to 'print'" in skipped["legacy.py"]
    assert skipped["legacy.py"].startswith("not valid Python 3")
    assert skipped["blob.py"] == "binary content (NUL bytes)"
    assert skipped["latin1.py"].startswith("not valid Python 3")
    assert skipped["link.py"] == "symbolic link (not followed)"
    assert skipped["broken.ipynb"].startswith("not a notebook")
    assert not any(f.path in skipped for f in out.findings if f.path != "demo.ipynb")


def test_bandit_scans_notebook_code_cells(python_repo: Path) -> None:
    out = _scan(BanditScanner(), python_repo)
    cells = {(f.rule_id, f.line, re.findall(r" \[cell (\d+)\]$", f.message)[0])
             for f in out.findings if f.path == "demo.ipynb"}
    assert cells == {
        ("B404", 1, "1"), ("B602", 4, "1"),  # magics and shell escapes before it did not shift lines
        ("B307", 4, "4"),  # inside a loop whose "!echo" became pass
        ("B614", 4, "6"),  # %%time keeps its Python body; "model?" became pass
    }
    shell = next(f for f in out.findings if f.path == "demo.ipynb" and f.rule_id == "B602")
    assert shell.message.endswith(" [cell 1]")
    assert shell.snippet == "subprocess.call(cmd, shell=True)"
    notes = [s.reason for s in out.skipped if s.path == "demo.ipynb"]
    assert len(notes) == 1 and notes[0].startswith("cell 2: not valid Python 3")


def test_notebook_extraction_maps_every_line_back() -> None:
    code = notebook_code(json.dumps(NOTEBOOK).encode())
    assert len(code.lines) == len(code.origin)
    assert code.origin[:4] == [(1, 1), (1, 2), (1, 3), (1, 4)]
    assert code.lines[1] == "pass" and code.lines[2] == "pass"
    assert {cell for cell, _ in code.origin} == {1, 4, 6}
    with pytest.raises(ValueError, match="not a notebook"):
        notebook_code(b"[1, 2]")


def test_notebook_format_3_cells_are_read() -> None:
    legacy = {"nbformat": 3, "worksheets": [{"cells": [
        {"cell_type": "markdown", "source": ["text"]},
        {"cell_type": "code", "input": ["import pickle\n", "pickle.loads(b)\n"]},
    ]}]}
    code = notebook_code(json.dumps(legacy).encode())
    assert code.lines == ["import pickle", "pickle.loads(b)"]
    assert code.origin == [(1, 1), (1, 2)]


def test_bandit_runs_once_for_many_files_and_reports_each_copy(python_repo: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Sequence[str]] = []
    real = tooling.run_tool

    def counting(argv: Sequence[str], **kwargs: Any) -> str:
        calls.append(argv)
        return real(argv, **kwargs)

    monkeypatch.setattr(bandit_module, "run_tool", counting)
    source = python_repo / "pkg" / "vulnerable.py"
    # One content seen at two paths (a fork): scanned once, reported under both.
    targets = [ScanTarget(source, "a/vulnerable.py"), ScanTarget(source, "b/vulnerable.py"),
               ScanTarget(python_repo / "pkg" / "safe.py", "a/safe.py"),
               ScanTarget(python_repo / "demo.ipynb", "a/demo.ipynb")]
    out = BanditScanner().scan(targets)
    assert len(calls) == 1
    assert calls[0][1:3] == ["-m", "bandit"] and calls[0][0] == sys.executable
    a = {(f.rule_id, f.line) for f in out.findings if f.path == "a/vulnerable.py"}
    b = {(f.rule_id, f.line) for f in out.findings if f.path == "b/vulnerable.py"}
    assert a == b and len(a) == 10


def test_a_file_that_breaks_bandit_costs_only_itself(python_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tooling.run_tool

    def crashing(argv: Sequence[str], **kwargs: Any) -> str:
        if any(a.endswith("safe.py") for a in argv):
            raise tooling.ToolError("exit status 2: RecursionError")
        return real(argv, **kwargs)

    monkeypatch.setattr(bandit_module, "run_tool", crashing)
    out = BanditScanner().scan([ScanTarget(python_repo / "pkg" / "vulnerable.py", "vulnerable.py"),
                                ScanTarget(python_repo / "pkg" / "safe.py", "safe.py")])
    assert [(s.path, s.reason) for s in out.skipped] == [("safe.py", "bandit: exit status 2: RecursionError")]
    assert {f.path for f in out.findings} == {"vulnerable.py"}


def test_bandit_identity() -> None:
    scanner = BanditScanner()
    assert scanner.version() == version("bandit")
    assert len(scanner.ruleset()) == 64 and scanner.ruleset() == BanditScanner().ruleset()
    assert scanner.accepts(ScanTarget(Path("x.py"), "x.py"))
    assert scanner.accepts(ScanTarget(Path("/work/ab12/nb.IPYNB"), "nb.IPYNB"))
    assert not scanner.accepts(ScanTarget(Path("x.c"), "x.c"))


@pytest.fixture
def c_repo(tmp_path: Path) -> Path:
    root = tmp_path / "crepo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "vuln.c").write_text(VULNERABLE_C, encoding="utf-8")
    (root / "src" / "safe.cpp").write_text(SAFE_C, encoding="utf-8")
    (root / "kernels").mkdir()
    (root / "kernels" / "copy.cu").write_text(
        "__global__ void k(char *d, const char *s) { strcpy(d, s); }\n", encoding="utf-8")
    (root / "latin1.h").write_bytes(b"/* caf\xe9 cr\xe8me */\nvoid f(char *d, const char *s) { strcpy(d, s); }\n")
    (root / "blob.c").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00strcpy(a, b);\n")
    (root / "link.c").symlink_to(root / "src" / "vuln.c")
    (root / "notes.txt").write_text("strcpy(a, b);\n", encoding="utf-8")
    # Names Flawfinder would refuse (control characters) or write back altered (not UTF-8).
    (root / "new\nline.c").write_text("void g(char *d) { strcpy(d, \"x\"); }\n", encoding="utf-8")
    (root / os.fsdecode(b"caf\xe9.c")).write_text("void g(char *d, char *s) { strcat(d, s); }\n", encoding="utf-8")
    return root


def test_flawfinder_reports_the_known_lines(c_repo: Path) -> None:
    out = _scan(FlawfinderScanner(), c_repo)
    assert _hits(out.findings) == {
        ("src/vuln.c", "FF1013", 6),  # char buf[16]
        ("src/vuln.c", "FF1001", 7),  # strcpy
        # line 8, printf("constant\n"): Flawfinder lowers it to level 0, not risky, so dropped
        ("src/vuln.c", "FF1016", 9),  # printf(argv[1])
        ("src/vuln.c", "FF1014", 10),  # gets
        ("src/vuln.c", "FF1015", 11),  # sprintf with a variable format
        ("src/vuln.c", "FF1044", 12),  # system, despite "Flawfinder: ignore"
        ("src/vuln.c", "FF1070", 13),  # fread: a level-0 input source, kept
        ("src/vuln.c", "FF1008", 14),  # strncpy
        ("kernels/copy.cu", "FF1001", 1),  # .cu: Flawfinder's directory walk would skip it
        ("latin1.h", "FF1001", 2),
        ("new\nline.c", "FF1001", 1),
        ("caf\udce9.c", "FF1005", 1),
    }
    found = {(f.path, f.rule_id): f for f in out.findings}
    gets = found["src/vuln.c", "FF1014"]
    assert (gets.vuln_type, gets.category, gets.severity, gets.cwe, gets.original_severity) == (
        "insecure_input", "web_attack", "critical", "CWE-120", "level 5")
    assert gets.snippet == "gets(buf);" and gets.column == 5
    assert gets.message.startswith("gets: Does not check for buffer overflows")
    # The hit's own CWE: Flawfinder saw a format-string problem in this sprintf, not an overflow.
    assert found["src/vuln.c", "FF1015"].cwe == "CWE-134"
    assert found["src/vuln.c", "FF1013"].severity == "low"
    assert found["src/vuln.c", "FF1070"].original_severity == "level 0"
    # Lines and columns of a Latin-1 file are those of the original bytes.
    latin = found["latin1.h", "FF1001"]
    assert (latin.line, latin.column) == (2, 34)


def test_flawfinder_skips_binary_and_links_and_ignores_other_files(c_repo: Path) -> None:
    scanner = FlawfinderScanner()
    out = _scan(scanner, c_repo)
    assert sorted((s.path, s.reason) for s in out.skipped) == [
        ("blob.c", "binary content (NUL bytes)"), ("link.c", "symbolic link (not followed)")]
    assert not scanner.accepts(ScanTarget(c_repo / "notes.txt", "notes.txt"))
    assert all(scanner.accepts(ScanTarget(Path(f"x{s}"), f"x{s}")) for s in (".cu", ".cuh", ".hh", ".CPP"))
    assert not [f for f in out.findings if f.path == "src/safe.cpp"]


def test_flawfinder_identity() -> None:
    scanner = FlawfinderScanner()
    assert scanner.version() == version("flawfinder")
    assert len(scanner.ruleset()) == 64 and scanner.ruleset() != BanditScanner().ruleset()


def test_run_isolating_blames_only_the_failing_items() -> None:
    seen: list[list[int]] = []

    def run(items: Sequence[int]) -> list[int]:
        seen.append(list(items))
        if 5 in items or 11 in items:
            raise tooling.ToolError(f"bad {sorted(set(items) & {5, 11})}")
        return list(items)

    results, failed = tooling.run_isolating(list(range(16)), run)
    assert sorted(x for batch in results for x in batch) == [x for x in range(16) if x not in (5, 11)]
    assert failed == [(5, "bad [5]"), (11, "bad [11]")]
    assert len(seen) < 16


def test_run_tool_turns_hangs_and_crashes_into_tool_errors(tmp_path: Path) -> None:
    with pytest.raises(tooling.ToolError, match="timed out"):
        tooling.run_tool([sys.executable, "-c", "import time; time.sleep(10)"], timeout=0.5, cwd=str(tmp_path))
    with pytest.raises(tooling.ToolError, match="exit status 3: boom"):
        tooling.run_tool([sys.executable, "-c", "import sys; sys.stderr.write('noise\\nboom\\n'); sys.exit(3)"],
                         timeout=30, cwd=str(tmp_path))
    assert tooling.run_tool([sys.executable, "-c", "print('ok'); raise SystemExit(1)"], timeout=30,
                            cwd=str(tmp_path), ok_codes=(0, 1)) == "ok\n"


def test_batches_respect_the_command_line_limits() -> None:
    paths = [f"/p/{'x' * 100}{n}.py" for n in range(5000)]
    parts = list(tooling.batches(paths))
    assert [p for part in parts for p in part] == paths
    assert all(len(part) <= tooling.MAX_BATCH_FILES for part in parts)
    assert all(sum(len(p) + 1 for p in part) <= tooling.MAX_BATCH_CHARS + 200 for part in parts)
