"""``ptmscope usage`` as users run it: the JSON contract (DESIGN §6), the table, one file, --all, and clear
usage errors. The command is registered on a small app here (cli/main.py wires it into ptmscope)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from ptmscope.cli.usage import usage
from ptmscope.errors import PtmscopeError, UsageError
from tests.usage.corpus import notebook, write

CONTRACT = ("model", "library", "call", "path", "line", "revision", "pinned", "trust_remote_code", "resolved")


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """A group, so that ``usage`` is a subcommand as in ptmscope."""

    app.command("usage")(usage)
    return app


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        _app()(args=argv, standalone_mode=False)
    except PtmscopeError as exc:
        return exc.exit_code, str(exc)
    return 0, capsys.readouterr().out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "proj", {
        "app.py": "from transformers import AutoModel\nAutoModel.from_pretrained('org/m', revision='v1', "
                  "trust_remote_code=True)\n",
        "nb.ipynb": notebook([("markdown", "x"), ("code", "import spacy\nnlp = spacy.load('en_core_web_sm')")]),
    })
    return tmp_path / "proj"


def test_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["usage", str(project), "--format", "json"], capsys)
    document = json.loads(out)
    assert code == 0
    assert [{k: u[k] for k in CONTRACT} for u in document["usages"]] == [
        {"model": "org/m", "library": "transformers", "call": "transformers.AutoModel.from_pretrained",
         "path": "app.py", "line": 2, "revision": "v1", "pinned": True, "trust_remote_code": True, "resolved": True},
        {"model": "en_core_web_sm", "library": "spacy", "call": "spacy.load", "path": "nb.ipynb", "line": 2,
         "revision": None, "pinned": False, "trust_remote_code": False, "resolved": True},
    ]
    assert document["usages"][1]["cell"] == 1 and document["skipped"] == []


def test_table_and_out_file(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["usage", str(project)], capsys)
    assert code == 0 and "org/m" in out and "cell 1:2" in out
    target = tmp_path / "report.json"
    assert run(["usage", str(project / "app.py"), "-f", "json", "-o", str(target)], capsys)[0] == 0
    assert [u["model"] for u in json.loads(target.read_text())["usages"]] == ["org/m"]


def test_usage_errors(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["usage"], ["usage", str(project), "--all"], ["usage", str(tmp_path / "missing")],
                 ["usage", str(project / "nb.ipynb.txt")]):
        code, message = run(argv, capsys)
        assert code == UsageError.exit_code, argv
        assert message
    (tmp_path / "notes.txt").write_text("x")
    assert run(["usage", str(tmp_path / "notes.txt")], capsys)[0] == 2


def test_all_on_an_empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PTMSCOPE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PTMSCOPE_DB", raising=False)
    code, out = run(["usage", "--all", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["repositories"] == 0
