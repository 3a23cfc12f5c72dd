"""`export repositories|links|papers` after linking, on SQLite and PostgreSQL, in every format."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from ptmscope.hubs.collect import collect_records
from ptmscope.hubs.interface import ModelRecord
from ptmscope.link.run import link_all
from ptmscope.store import Store, open_store, schema
from ptmscope.store.export import EXPORTS, export_records
from ptmscope.store.repositories import record_alias
from tests.exports import read_csv, read_parquet

MODEL = ModelRecord(hub="huggingface", model_id="acme/alpha", author="acme", sha="a1",
                    card_text="Code: https://github.com/Acme-Lab/Alpha-Train, \"quoted\", and more\n"
                              "Trained with [transformers](https://github.com/huggingface/transformers).\n")


@pytest.fixture
def store(db_url: str) -> Store:
    store = open_store(db_url)
    collect_records(store, "huggingface", "huggingface", [MODEL], mark_missing_deleted=True)
    with store.engine.begin() as conn:
        conn.execute(insert(schema.paper).values(
            source="file", source_id="p-1", venue="ICML", year=2023, title="Alpha, \"a\" paper\nwith a newline",
            authors=["Ana Ruiz", "Kofi Mensah"], countries=["ES"], code_links=["github.com/acme-lab/alpha-train;x"]))
    link_all(store)
    with store.engine.begin() as conn:
        pk = conn.execute(schema.repository.select().where(
            schema.repository.c.full_name_lower == "acme-lab/alpha-train")).mappings().one()["id"]
        record_alias(conn, "acme/old-alpha", pk, evidence="http_301", now=datetime.now(UTC))
    return store


def _all_formats(store: Store, kind: str, tmp_path: Path) -> list[list[dict[str, Any]]]:
    fields = EXPORTS[kind][0]
    jsonl = io.BytesIO()
    export_records(store, kind, "jsonl", jsonl, None)
    csv_out = io.BytesIO()
    export_records(store, kind, "csv", csv_out, None)
    export_records(store, kind, "parquet", None, tmp_path / f"{kind}.parquet")
    return [[json.loads(line) for line in jsonl.getvalue().splitlines()], read_csv(csv_out.getvalue(), fields),
            read_parquet(tmp_path / f"{kind}.parquet")]


def test_repositories_links_and_papers_agree_across_formats(store: Store, tmp_path: Path) -> None:
    for kind in ("repositories", "links", "papers"):
        as_json, as_csv, as_parquet = _all_formats(store, kind, tmp_path)
        assert as_json, kind
        assert as_parquet == as_json, kind
        # CSV cannot tell an empty string from a missing value; nothing here is an empty string.
        assert as_csv == as_json, kind


def test_exported_values(store: Store, tmp_path: Path) -> None:
    repos = {r["repo"]: r for r in _all_formats(store, "repositories", tmp_path)[0]}
    alpha = repos["Acme-Lab/Alpha-Train"]
    assert alpha["status"] == "pending"
    assert alpha["perspectives"] == ["model_card", "paper"]
    assert alpha["previous_names"] == ["acme/old-alpha"]
    links = _all_formats(store, "links", tmp_path)[0]
    by_end = {(link["model"] or link["paper"], link["repo"], link["kind"]) for link in links}
    assert ("acme/alpha", "Acme-Lab/Alpha-Train", "model_card") in by_end
    assert ("file:p-1", "Acme-Lab/Alpha-Train", "paper_code") in by_end
    card_link = next(link for link in links if link["model"] == "acme/alpha" and link["kind"] == "model_card")
    assert card_link["field"] == "card_text" and card_link["line"] == 1
    assert "Alpha-Train" in card_link["evidence"]
    papers = _all_formats(store, "papers", tmp_path)[0]
    assert papers[0]["repos"] == ["Acme-Lab/Alpha-Train"]
    assert papers[0]["title"] == "Alpha, \"a\" paper\nwith a newline"
