"""Exporting models: the fields of DESIGN §6, their values, order, and exact round trips in every format."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from sqlalchemy import insert, select

from ptmscope.errors import UsageError
from ptmscope.hubs.collect import collect_records
from ptmscope.hubs.interface import ModelCommit, ModelFile, ModelRecord
from ptmscope.store import Store, open_store, schema
from ptmscope.store import export as export_module
from ptmscope.store.export import MODEL_FIELDS, export_models, iter_models
from ptmscope.store.models import record_alias, replace_commits, replace_files
from tests.exports import read_csv, read_parquet

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
CEST = timezone(timedelta(hours=2))
CONTRACT_FIELDS = ("id", "author", "sha", "created_at", "last_modified", "downloads", "likes", "library_name",
                   "pipeline_tag", "tags", "license", "datasets", "languages", "base_models", "gated",
                   "github_repos", "deleted", "previous_ids")

# Values that break naive CSV and JSON handling: separators, quotes, line breaks, non-ASCII, and an
# empty string inside a list (which must not vanish or turn into null).
AWKWARD = ("a,b", 'say "hi"', "line\nbreak", "cr\r\nlf", "tab\there", "ünïcødé 模型 🤗", "", "'single'", "=1+1")


def hf(model_id: str, **fields: Any) -> ModelRecord:
    return ModelRecord(hub="huggingface", model_id=model_id, **fields)


def ptm(model_id: str, **fields: Any) -> ModelRecord:
    return ModelRecord(hub="pytorch_hub", model_id=model_id, **fields)


ZETA = hf("Org/Zeta", hub_object_id="1" * 24, author="Org", sha="a" * 40,
          # Stored and exported in UTC, whatever zone the record came in.
          created_at=datetime(2023, 1, 1, 2, 0, 0, tzinfo=CEST),
          last_modified=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
          downloads=12_345_678_901, likes=7, library_name="transformers", pipeline_tag="fill-mask", domain="NLP",
          tags=AWKWARD, license_raw='other:My "License", v2\nsecond line', datasets=("ds,1", 'd"s2', "ü/データ"),
          languages=("en", "zh-Hans", "ελληνικά"), base_models=("base/one", "base,two"), arxiv_ids=("2101.00001",),
          gated="manual", private=False, disabled=False, parameter_count=110_000_000, used_storage=440_000_000,
          spaces=("s/one", "s/two"), card_text="# Zeta\n", raw={"id": "Org/Zeta"})
ALPHA = hf("org/alpha")  # nothing known but the id: nulls and empty lists
BETA = hf("org/Beta", author="org", sha="b" * 40, downloads=0, likes=0, tags=("x",), gated="false",
          raw={"id": "org/Beta"})
GONE = hf("org/gone", author="org", sha="c" * 40, raw={"id": "org/gone"})
VISION = ptm("pytorch/vision/resnet18", author="Pytorch Team", github_repo="pytorch/vision", domain="CV",
             tags=("vision", "scriptable"), title="ResNet",
             entrypoints=({"name": "resnet18", "args": ["weights"], "doc": 'A "ResNet",\n18 layers'},),
             card_text="---\ntitle: ResNet\n---\n", raw={"file": "pytorch_vision_resnet.md"})
NVIDIA = ptm("NVIDIA/DeepLearningExamples/tacotron2", github_repo="NVIDIA/DeepLearningExamples", domain="Audio",
             entrypoints=({"name": "nvidia_tacotron2"}, {"name": "nvidia_tts_utils"}),
             raw={"file": "nvidia_deeplearningexamples_tacotron2.md"})

# Export order is (hub, id) by code point, as Python sorts strings: upper case before lower case.
ORDER = ["Org/Zeta", "org/Beta", "org/alpha", "org/gone", "NVIDIA/DeepLearningExamples/tacotron2",
         "pytorch/vision/resnet18"]


def _pk(store: Store, hub: str, model_id: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(schema.model.c.id).where(schema.model.c.hub == hub,
                                                                 schema.model.c.model_id == model_id)).scalar_one())


def _repository(conn: Any, owner: str, name: str) -> int:
    return int(conn.execute(insert(schema.repository).values(
        host="github.com", owner=owner, name=name, full_name_lower=f"{owner}/{name}".lower(),
    ).returning(schema.repository.c.id)).scalar_one())


def fill(store: Store) -> None:
    """Two Hugging Face runs (the second no longer lists org/gone), one PyTorch Hub run, and the rows
    other stages add: aliases from renames, links to GitHub repositories, files and commits."""
    collect_records(store, "huggingface", "huggingface", [ZETA, ALPHA, BETA, GONE], mark_missing_deleted=True)
    collect_records(store, "huggingface", "huggingface", [ZETA, ALPHA, BETA], mark_missing_deleted=True)
    collect_records(store, "pytorch_hub", "pytorch_hub", [VISION, NVIDIA], mark_missing_deleted=True)
    zeta, beta = _pk(store, "huggingface", "Org/Zeta"), _pk(store, "huggingface", "org/Beta")
    vision = _pk(store, "pytorch_hub", "pytorch/vision/resnet18")
    with store.engine.begin() as conn:
        # Inserted out of order: previous_ids come back sorted.
        record_alias(conn, "huggingface", "old/beta-v1", beta, evidence="http_307", now=NOW)
        record_alias(conn, "huggingface", "Old/Beta", beta, evidence="object_id", now=NOW)
        # A PyTorch Hub id that happens to equal a Hugging Face alias must not leak across hubs.
        record_alias(conn, "pytorch_hub", "org/alpha", vision, evidence="object_id", now=NOW)
        # GitHub spells the repository "PyTorch/Vision"; the catalogue page said "pytorch/vision".
        # Repository identity is case-insensitive, so that is one repository, listed once.
        torchvision = _repository(conn, "PyTorch", "Vision")
        detr = _repository(conn, "facebookresearch", "detr")
        code = _repository(conn, "Owner-X", "Repo.Y")
        conn.execute(insert(schema.link), [
            {"model": vision, "repository": torchvision, "kind": "declared", "evidence": "page"},
            {"model": vision, "repository": detr, "kind": "readme", "evidence": "card"},
            {"model": zeta, "repository": code, "kind": "card", "evidence": "README.md line 3"},
            {"model": zeta, "repository": code, "kind": "card", "evidence": "README.md line 9"},  # same repo again
            {"model": None, "repository": detr, "kind": "paper", "evidence": "a paper's link, no model"},
        ])
        replace_files(conn, {zeta: [ModelFile("README.md", 7), ModelFile("model.safetensors", 440_000_000)]})
        replace_commits(conn, {zeta: [ModelCommit("c3"), ModelCommit("c2"), ModelCommit("c1")]})


EXPECTED: dict[str, dict[str, Any]] = {
    "Org/Zeta": {
        "id": "Org/Zeta", "author": "Org", "sha": "a" * 40, "created_at": "2023-01-01T00:00:00+00:00",
        "last_modified": "2024-05-06T07:08:09+00:00", "downloads": 12_345_678_901, "likes": 7,
        "library_name": "transformers", "pipeline_tag": "fill-mask", "tags": list(AWKWARD),
        "license": 'other:My "License", v2\nsecond line', "datasets": ["ds,1", 'd"s2', "ü/データ"],
        "languages": ["en", "zh-Hans", "ελληνικά"], "base_models": ["base/one", "base,two"], "gated": "manual",
        "github_repos": ["Owner-X/Repo.Y"], "deleted": False, "previous_ids": [],
        "hub": "huggingface", "domain": "NLP", "parameter_count": 110_000_000, "used_storage": 440_000_000,
        "spaces_count": 2, "private": False, "disabled": False, "arxiv_ids": ["2101.00001"], "has_card": True,
        "file_count": 2, "commit_count": 3, "entrypoints": [],
    },
    "org/Beta": {
        "id": "org/Beta", "author": "org", "sha": "b" * 40, "created_at": None, "last_modified": None,
        "downloads": 0, "likes": 0, "library_name": None, "pipeline_tag": None, "tags": ["x"], "license": None,
        "datasets": [], "languages": [], "base_models": [], "gated": "false", "github_repos": [],
        "deleted": False, "previous_ids": ["Old/Beta", "old/beta-v1"], "hub": "huggingface",
        "has_card": False, "file_count": 0, "commit_count": 0,
    },
    "org/alpha": {
        "id": "org/alpha", "author": None, "sha": None, "created_at": None, "last_modified": None,
        "downloads": None, "likes": None, "library_name": None, "pipeline_tag": None, "tags": [],
        "license": None, "datasets": [], "languages": [], "base_models": [], "gated": None, "github_repos": [],
        "deleted": False, "previous_ids": [], "hub": "huggingface", "domain": None, "parameter_count": None,
        "spaces_count": None, "private": None, "arxiv_ids": [], "has_card": False, "entrypoints": [],
    },
    "org/gone": {"id": "org/gone", "sha": "c" * 40, "deleted": True, "previous_ids": [], "github_repos": []},
    "NVIDIA/DeepLearningExamples/tacotron2": {
        "author": None, "github_repos": ["NVIDIA/DeepLearningExamples"], "hub": "pytorch_hub", "domain": "Audio",
        "entrypoints": [{"name": "nvidia_tacotron2"}, {"name": "nvidia_tts_utils"}], "deleted": False,
        "has_card": False,
    },
    "pytorch/vision/resnet18": {
        "author": "Pytorch Team", "hub": "pytorch_hub", "domain": "CV", "tags": ["vision", "scriptable"],
        # Linked repositories in name order, each once; the page's own spelling of torchvision is
        # the same repository as GitHub's, so it is not added a second time.
        "github_repos": ["facebookresearch/detr", "PyTorch/Vision"], "previous_ids": ["org/alpha"],
        "entrypoints": [{"name": "resnet18", "args": ["weights"], "doc": 'A "ResNet",\n18 layers'}],
        "has_card": True, "deleted": False,
    },
}


@pytest.fixture
def store(db_url: str) -> Store:
    s = open_store(db_url)
    fill(s)
    return s


def test_fields_values_and_order(store: Store) -> None:
    rows = list(iter_models(store))
    assert [r["id"] for r in rows] == ORDER
    for row in rows:
        # Every row has every field, contract fields first, in one fixed order.
        assert list(row) == [name for name, _ in MODEL_FIELDS]
        assert list(row)[:len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS)
        expected = EXPECTED[row["id"]]
        assert {k: row[k] for k in expected} == expected, row["id"]


def test_hub_filter(store: Store) -> None:
    assert [r["id"] for r in iter_models(store, hub="pytorch_hub")] == ORDER[4:]
    assert [r["id"] for r in iter_models(store, hub="huggingface", include_deleted=False)] == ORDER[:3]
    buf = io.BytesIO()
    assert export_models(store, "jsonl", buf, None, hub="huggingface") == 4
    assert [orjson.loads(line)["id"] for line in buf.getvalue().splitlines()] == ORDER[:4]


def test_batches_do_not_mix_up_related_rows(store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Aliases, links, files and commits are fetched per batch of models; with batches of two, every
    # model's related rows must still land on that model (and on PostgreSQL the side queries run
    # while the streaming cursor is open).
    whole = list(iter_models(store))
    monkeypatch.setattr(export_module, "BATCH", 2)
    assert list(iter_models(store)) == whole
    path = tmp_path / "models.parquet"
    assert export_models(store, "parquet", None, path) == len(ORDER)
    assert pq.ParquetFile(path).num_row_groups == 3
    assert read_parquet(path) == whole


# --- round trips ---------------------------------------------------------------------------------------------




def _exported(store: Store, fmt: str, tmp_path: Path) -> list[dict[str, Any]]:
    if fmt == "parquet":
        path = tmp_path / "models.parquet"
        assert export_models(store, fmt, None, path) == len(ORDER)
        return read_parquet(path)
    buf = io.BytesIO()
    assert export_models(store, fmt, buf, None) == len(ORDER)
    if fmt == "csv":
        return read_csv(buf.getvalue(), MODEL_FIELDS)
    lines = buf.getvalue().split(b"\n")
    assert lines[-1] == b""  # newline-terminated, one object per line: no raw line breaks inside
    return [orjson.loads(line) for line in lines[:-1]]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_every_format_round_trips_exactly(store: Store, fmt: str, tmp_path: Path) -> None:
    assert _exported(store, fmt, tmp_path) == list(iter_models(store))


def test_parquet_column_types(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "models.parquet"
    export_models(store, "parquet", None, path)
    types = {field.name: str(field.type) for field in pq.read_schema(path)}
    assert types["tags"] == types["previous_ids"] == types["github_repos"] == "list<element: string>"
    assert types["downloads"] == "int64" and types["deleted"] == "bool" and types["id"] == "string"


def test_empty_store_exports_headers_and_schemas_only(db_url: str, tmp_path: Path) -> None:
    store = open_store(db_url)
    buf = io.BytesIO()
    assert export_models(store, "jsonl", buf, None) == 0
    assert buf.getvalue() == b""
    buf = io.BytesIO()
    assert export_models(store, "csv", buf, None) == 0
    assert buf.getvalue().decode().splitlines() == [",".join(name for name, _ in MODEL_FIELDS)]
    path = tmp_path / "empty.parquet"
    assert export_models(store, "parquet", None, path) == 0
    table = pq.read_table(path)
    assert table.num_rows == 0 and table.column_names == [name for name, _ in MODEL_FIELDS]


def test_bad_formats_are_usage_errors(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with pytest.raises(UsageError, match="--out"):
        export_models(store, "parquet", io.BytesIO(), None)
    with pytest.raises(UsageError, match="xml"):
        export_models(store, "xml", io.BytesIO(), None)


# --- collation -----------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_order_does_not_depend_on_the_database_collation(postgres_server: Any) -> None:
    # A PostgreSQL database created with a natural-language collation (most servers default to the
    # OS locale, e.g. en_US.UTF-8) would sort "org/alpha" before "Org/Zeta"; exports must come out
    # in the same order on every backend and server.
    import psycopg

    name = f"t_icu_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"host=127.0.0.1 port={postgres_server.port} user=ptmscope dbname=postgres",
                         autocommit=True) as conn:
        try:
            conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
        except psycopg.Error as exc:  # a server built without ICU
            pytest.skip(f"cannot create an ICU-collated database: {exc}")
    store = open_store(f"postgresql+psycopg://ptmscope@127.0.0.1:{postgres_server.port}/{name}")
    fill(store)
    with store.engine.connect() as conn:
        # The premise: this database's own ordering differs from code point order.
        natural = list(conn.execute(select(schema.model.c.model_id).where(schema.model.c.hub == "huggingface")
                                    .order_by(schema.model.c.model_id)).scalars())
    assert natural != ORDER[:4]
    assert [r["id"] for r in iter_models(store)] == ORDER
