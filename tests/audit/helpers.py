"""A project a security team might audit, a store that knows its models, and a Hub that knows one more.

The project (``write_project``) loads models every way the audit tells apart: pinned to a commit,
unpinned, on a branch, with trust_remote_code, from a notebook cell, from a local directory, under a
name computed at run time, under a former name; and it unpickles a file, which the scanners report.

``SHA`` pins are 40-hex commit ids. What the store says of each model (``fill_store``) is chosen so each
audit issue has exactly one cause; ``EXPECTED`` lists them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from ptmscope.demo.licenses import TEXTS
from ptmscope.replay import HubCorpus
from ptmscope.store import Store, schema

SHA = "0123456789abcdef0123456789abcdef01234567"
SHA2 = "89abcdef0123456789abcdef0123456789abcdef"
NOW = datetime(2025, 1, 1, tzinfo=UTC)

MIT = TEXTS["MIT"]

MAIN_PY = f'''"""Serve a classifier and an embedder."""

import pickle
import sys

from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("acme/pinned-model", revision="{SHA}")
encoder = AutoModel.from_pretrained("acme/pickled-model")
classifier = AutoModelForSequenceClassification.from_pretrained("research/nc-model", revision="main")
helper = AutoModel.from_pretrained("acme/custom-model", trust_remote_code=True)
tuned = AutoModel.from_pretrained("acme/finetune", revision="{SHA2}")
legacy = AutoModel.from_pretrained("oldorg/old-name", revision="{SHA}")
ghost = AutoModel.from_pretrained("ghost/missing-model", revision="{SHA}")
local = AutoModel.from_pretrained("./checkpoints/local")
chosen = AutoModel.from_pretrained(sys.argv[1])


def load_cache(path):
    with open(path, "rb") as handle:
        return pickle.load(handle)
'''


def notebook(cells: list[tuple[str, str]]) -> bytes:
    return json.dumps({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True),
                   **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                  for kind, source in cells],
    }, indent=1).encode()


EXPLORE_IPYNB = notebook([
    ("markdown", "# Trying a model from the Hub\n"),
    ("code", "from transformers import pipeline\n"),
    ("code", "import torch\n\nclf = pipeline(\"text-classification\", model=\"hubonly/remote-model\")\n"),
])


def write_project(root: Path, *, license_text: str | None = MIT) -> Path:
    files = {"app/main.py": MAIN_PY.encode(), "notebooks/explore.ipynb": EXPLORE_IPYNB,
             "README.md": b"# classifier\n\nServes a classifier.\n"}
    if license_text is not None:
        files["LICENSE"] = license_text.encode()
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _model(model_id: str, **columns: Any) -> dict[str, Any]:
    return {"hub": "huggingface", "model_id": model_id, "author": model_id.split("/", maxsplit=1)[0], "deleted": False,
            "tags": ["transformers"], "library_name": "transformers", **columns}


def fill_store(store: Store) -> dict[str, int]:
    """The models of the project as a crawl would have stored them; returns model_id -> primary key."""
    rows = [
        _model("acme/pinned-model", license_raw="apache-2.0", gated="false", sha=SHA),
        _model("acme/pickled-model", license_raw="mit", gated="false"),
        _model("research/nc-model", license_raw="cc-by-nc-4.0", gated="manual"),
        _model("acme/custom-model", license_raw="apache-2.0", gated="false",
               config={"model_type": "custom", "auto_map": {"AutoModel": "modeling_custom.CustomModel"}},
               tags=["transformers", "custom_code"]),
        _model("acme/finetune", license_raw="apache-2.0", gated="false", base_models=["research/nc-model"]),
        _model("neworg/new-name", license_raw="mit", gated="false"),
    ]
    files = {
        "acme/pinned-model": ["config.json", "model.safetensors", "pytorch_model.bin"],
        "acme/pickled-model": ["config.json", "pytorch_model.bin", "training_args.bin"],
        "research/nc-model": ["config.json", "model.safetensors"],
        "acme/custom-model": ["config.json", "modeling_custom.py", "model.safetensors"],
        "acme/finetune": ["config.json", "adapter_model.safetensors"],
        "neworg/new-name": ["config.json", "model.safetensors"],
    }
    keys = {key for row in rows for key in row}
    rows = [{key: row.get(key) for key in keys} for row in rows]
    with store.engine.begin() as conn:
        conn.execute(insert(schema.model), rows)
        pks = {r.model_id: r.id for r in conn.execute(schema.model.select())}
        conn.execute(insert(schema.model_file), [
            {"model": pks[m], "path": p, "format": p.rsplit(".", 1)[-1]} for m, paths in files.items() for p in paths])
        conn.execute(insert(schema.model_edge), [{
            "child": pks["acme/finetune"], "parent_id": "research/nc-model", "parent": pks["research/nc-model"],
            "relation": "adapter", "evidence": "card_yaml"}])
        conn.execute(insert(schema.model_alias), [{
            "hub": "huggingface", "old_id": "oldorg/old-name", "model": pks["neworg/new-name"],
            "evidence": "http_307", "detected_at": NOW}])
        # ptmscope's own model-file scan found a dangerous pickle in the pinned model's .bin.
        conn.execute(insert(schema.model_snapshot), [
            {"model": pks["acme/pinned-model"], "path": "pytorch_model.bin", "commit": SHA, "sha256": "d" * 64,
             "size": 1024, "status": "downloaded", "format": "pickle", "fetched_at": NOW},
            {"model": pks["acme/pinned-model"], "path": "model.safetensors", "commit": SHA, "sha256": "e" * 64,
             "size": 1024, "status": "downloaded", "format": "safetensors", "fetched_at": NOW}])
        conn.execute(insert(schema.model_file_verdict), [
            {"sha256": "d" * 64, "scanner": "picklescan", "scanner_version": "1.0.5", "outcome": "dangerous",
             "format": "pickle", "details": {"globals": ["posix.system"]}, "scanned_at": NOW},
            {"sha256": "e" * 64, "scanner": "modelfiles", "scanner_version": "1", "outcome": "clean",
             "format": "safetensors", "details": None, "scanned_at": NOW}])
    return pks


def hub_record(model_id: str = "hubonly/remote-model", **overrides: Any) -> dict[str, Any]:
    """A Hub model-info body shaped like the recorded ones."""
    org = model_id.split("/", maxsplit=1)[0]
    record: dict[str, Any] = {
        "_id": "65f0c0ffee0000000000beef", "id": model_id, "modelId": model_id, "author": org,
        "sha": SHA2, "lastModified": "2024-05-01T10:00:00.000Z", "createdAt": "2023-02-01T10:00:00.000Z",
        "private": False, "gated": False, "disabled": False, "downloads": 1234, "likes": 7,
        "tags": ["transformers", "pytorch", "text-classification", "license:apache-2.0",
                 "base_model:finetune:acme/pinned-model"],
        "pipeline_tag": "text-classification", "library_name": "transformers",
        "cardData": {"license": "apache-2.0", "base_model": "acme/pinned-model"},
        "config": {"model_type": "bert"},
        "siblings": [{"rfilename": ".gitattributes"}, {"rfilename": "README.md"}, {"rfilename": "config.json"},
                     {"rfilename": "pytorch_model.bin"}],
    }
    record.update(overrides)
    return record


def hub_corpus() -> HubCorpus:
    """The Hub for models the store does not have: one pickle-only model whose weights the Hub's own scan
    finds suspicious, and one renamed model."""
    corpus = HubCorpus([hub_record(), hub_record("neworg/moved", sha=SHA)], renames={"oldorg/moved": "neworg/moved"})
    # The Hub derives its repository scan from the files it holds; the audit never downloads them.
    corpus.set_file("hubonly/remote-model", "config.json", b'{"model_type": "bert"}')
    corpus.set_file("hubonly/remote-model", "pytorch_model.bin", b"PK\x03\x04 weights (never read)")
    corpus.set_security("hubonly/remote-model", "pytorch_model.bin", {"status": "suspicious"})
    return corpus
