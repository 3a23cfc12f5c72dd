"""``usage --all`` against a store: usage rows, matching to stored models (exact, case-insensitive, renames,
bare names), downstream links, incremental re-runs, failures, the ``usages`` export, and the process pool."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import insert, select, update

from ptmscope.config import Settings
from ptmscope.runtime.executors import LocalExecutor
from ptmscope.store import Store, open_store, schema
from ptmscope.store.export import USAGE_FIELDS, export_records
from ptmscope.usage.analyzer import CHUNK_FILES, analyze_path
from ptmscope.usage.run import usage_all
from ptmscope.usage.signatures import analyzer_version
from tests.usage.corpus import write

NOW = datetime(2025, 1, 1, tzinfo=UTC)
APP = {
    "train.py": "from transformers import AutoModel, AutoTokenizer\nimport spacy\n"
                "AutoTokenizer.from_pretrained('bert-base-uncased')\n"
                "AutoModel.from_pretrained('bert-base-uncased', revision='v2')\n"
                "AutoModel.from_pretrained('ORG/Model-X')\n"
                "AutoModel.from_pretrained('nobody/not-stored')\n"
                "AutoModel.from_pretrained('./checkpoints/best')\n"
                "spacy.load('en_core_web_sm')\n",
    "hub.py": "import torch\ntorch.hub.load('pytorch/vision', 'resnet18', pretrained=True)\n",
}


def _model(store: Store, hub: str, model_id: str) -> int:
    with store.engine.begin() as conn:
        return int(conn.execute(insert(schema.model).values(hub=hub, model_id=model_id, deleted=False)
                                .returning(schema.model.c.id)).scalar_one())


def _repo(store: Store, settings: Settings, owner: str, name: str, files: dict[str, str | bytes] | None,
          sha: str = "a" * 40) -> int:
    rel = f"github.com/{owner}/{name}"
    root = settings.repos_dir / rel
    if files is not None:
        write(root, files)
        (root / ".git").mkdir(exist_ok=True)
    with store.engine.begin() as conn:
        return int(conn.execute(insert(schema.repository).values(
            host="github.com", owner=owner, name=name, full_name_lower=f"{owner}/{name}".lower(), status="ok",
            clone_path=rel, cloned_sha=sha, clone_status="cloned").returning(schema.repository.c.id)).scalar_one())


def _setup(db_url: str, tmp_path: Path) -> tuple[Store, Settings, dict[str, int]]:
    store = open_store(db_url)
    settings = Settings(data_dir=tmp_path / "data")
    pks = {"bert": _model(store, "huggingface", "google-bert/bert-base-uncased"),
           "x": _model(store, "huggingface", "org/model-x"),
           "spacy": _model(store, "huggingface", "spacy/en_core_web_sm"),
           "resnet": _model(store, "pytorch_hub", "pytorch/vision/resnet18")}
    with store.engine.begin() as conn:
        conn.execute(insert(schema.model_alias).values(hub="huggingface", old_id="bert-base-uncased", model=pks["bert"],
                                                       evidence="http_307", detected_at=NOW))
    pks["app"] = _repo(store, settings, "acme", "App", APP)
    pks["gone"] = _repo(store, settings, "acme", "gone", None)
    return store, settings, pks


def test_usage_all_writes_rows_links_and_analysis(db_url: str, tmp_path: Path) -> None:
    store, settings, pks = _setup(db_url, tmp_path)
    summary = usage_all(store, settings)
    assert (summary.repositories, summary.analysed, summary.failed, summary.call_sites, summary.matched) == (
        2, 1, 1, 7, 5)
    assert summary.problems[0][0] == "acme/gone"
    with store.engine.connect() as conn:
        u = schema.usage
        rows = conn.execute(select(u.c.path, u.c.line, u.c.model_name, u.c.model, u.c.resolved, u.c.pinned,
                                   u.c.revision, u.c.commit).order_by(u.c.path, u.c.line)).all()
        links = conn.execute(select(schema.link.c.model, schema.link.c.kind, schema.link.c.evidence)
                             .order_by(schema.link.c.model)).all()
        analysis = conn.execute(select(schema.usage_analysis)).mappings().one()
        failures = conn.execute(select(schema.failure.c.item, schema.failure.c.stage)).all()
        run = conn.execute(select(schema.run).where(schema.run.c.id == summary.run_id)).mappings().one()
    assert [(r.path, r.line, r.model_name, r.model, r.resolved, r.pinned, r.revision) for r in rows] == [
        ("hub.py", 2, "pytorch/vision/resnet18", pks["resnet"], True, False, None),
        ("train.py", 3, "bert-base-uncased", pks["bert"], True, False, None),
        ("train.py", 4, "bert-base-uncased", pks["bert"], True, True, "v2"),
        ("train.py", 5, "ORG/Model-X", pks["x"], True, False, None),
        ("train.py", 6, "nobody/not-stored", None, True, False, None),
        ("train.py", 7, None, None, False, False, None),
        ("train.py", 8, "en_core_web_sm", pks["spacy"], True, False, None),
    ]
    assert {r.commit for r in rows} == {"a" * 40}
    assert [(m, kind) for m, kind, _ in links] == sorted(
        (pks[k], "downstream") for k in ("bert", "x", "spacy", "resnet"))
    assert any(evidence.startswith("train.py:3 transformers.AutoTokenizer.from_pretrained") for _, _, evidence in links)
    assert (analysis["repository"], analysis["commit"], analysis["analyzer_version"], analysis["call_sites"]) == (
        pks["app"], "a" * 40, analyzer_version(), 7)
    assert failures == [("acme/gone", "usage")]
    assert run["status"] == "completed" and run["counts"]["links"] == 4


def test_rerun_is_incremental(sqlite_url: str, tmp_path: Path) -> None:
    store, settings, pks = _setup(sqlite_url, tmp_path)
    usage_all(store, settings)
    again = usage_all(store, settings)
    assert (again.up_to_date, again.analysed) == (1, 0)
    # A new clone of the repository: its usage is replaced, not added to.
    write(settings.repos_dir / "github.com/acme/App", {"train.py": "from transformers import AutoModel\n"
                                                                  "AutoModel.from_pretrained('org/model-x')\n"})
    with store.engine.begin() as conn:
        conn.execute(update(schema.repository).where(schema.repository.c.id == pks["app"]).values(cloned_sha="b" * 40))
    third = usage_all(store, settings)
    assert (third.analysed, third.call_sites) == (1, 2)
    with store.engine.connect() as conn:
        assert conn.execute(select(schema.usage.c.model_name).order_by(schema.usage.c.path)).scalars().all() == [
            "pytorch/vision/resnet18", "org/model-x"]
        assert conn.execute(select(schema.link.c.model).order_by(schema.link.c.model)).scalars().all() == sorted(
            [pks["x"], pks["resnet"]])


def test_export_usages(sqlite_url: str, tmp_path: Path) -> None:
    store, settings, _ = _setup(sqlite_url, tmp_path)
    usage_all(store, settings)
    out = io.BytesIO()
    n = export_records(store, "usages", "jsonl", out, None)
    records = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert n == len(records) == 7
    assert [name for name, _ in USAGE_FIELDS] == list(records[0])
    by_line = {(r["path"], r["line"]): r for r in records}
    assert by_line[("train.py", 3)]["model"] == "google-bert/bert-base-uncased"
    assert by_line[("train.py", 3)]["model_name"] == "bert-base-uncased" and by_line[("train.py", 3)]["matched"]
    assert by_line[("train.py", 6)]["model"] == "nobody/not-stored" and not by_line[("train.py", 6)]["matched"]
    assert by_line[("train.py", 7)]["model"] is None and by_line[("train.py", 7)]["resolved"] is False
    # A local checkpoint is recognised as such and kept with its path; hub ids are of kind hub.
    assert (by_line[("train.py", 7)]["kind"], by_line[("train.py", 7)]["local_path"]) == ("local", "./checkpoints/best")
    assert by_line[("train.py", 6)]["kind"] == "hub" and by_line[("train.py", 6)]["local_path"] is None
    assert {r["repo"] for r in records} == {"acme/App"}


def test_the_pool_gives_the_same_report(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {f"pkg/m{i:03d}.py": f"from transformers import AutoModel\nN = 'org/m{i}'\n"
                                     "AutoModel.from_pretrained(N)\n" for i in range(CHUNK_FILES + 50)}
    files["pkg/noise.py"] = "import os\nprint(os.getcwd())\n"
    write(tmp_path, files)
    alone = analyze_path(tmp_path)
    with LocalExecutor(2) as executor:
        pooled = analyze_path(tmp_path, executor)
    assert pooled == alone and len(alone.usages) == CHUNK_FILES + 50
