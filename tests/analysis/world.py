"""A small store whose every table and figure has a known right answer, written row by row.

The rows are shaped like what the stages write (hub models with dates, domains and safetensors counts;
card metadata from two extractors; repositories from several perspectives; scans at the cloned commit
and one stale; usage call sites pinned, unpinned, unresolved and unmatched; license verdicts of each
kind). The expected answers are in the tests that read it, worked out by hand from the rows below.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from ptmscope.store import Store, schema

NOW = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)


def _model(conn: Connection, hub: str, model_id: str, **values: Any) -> int:
    values.setdefault("deleted", False)
    return int(conn.execute(insert(schema.model).values(hub=hub, model_id=model_id, **values)
                            .returning(schema.model.c.id)).scalar_one())


def _repo(conn: Connection, owner: str, name: str, *perspectives: str, **values: Any) -> int:
    pk = int(conn.execute(insert(schema.repository).values(
        host="github.com", owner=owner, name=name, full_name_lower=f"{owner}/{name}".lower(), **values)
        .returning(schema.repository.c.id)).scalar_one())
    for perspective in perspectives:
        conn.execute(insert(schema.repo_source).values(repository=pk, perspective=perspective))
    return pk


def _scan(conn: Connection, repo: int, scanner: str, commit: str, findings: list[tuple[str, str | None]]) -> None:
    sid = conn.execute(insert(schema.scan).values(
        scanner=scanner, scanner_version="1", ruleset="r", repository=repo, commit=commit, status="ok",
        started_at=NOW, finished_at=NOW, files=3, skipped=[]).returning(schema.scan.c.id)).scalar_one()
    for n, (severity, vuln_type) in enumerate(findings):
        conn.execute(insert(schema.finding).values(scan=sid, rule_id=f"R{n}", severity=severity, vuln_type=vuln_type,
                                                   path="app.py", line=n + 1, message="m"))


def _use(conn: Connection, repo: int, library: str, call: str, name: str | None, model: int | None, *,
         pinned: bool | None, trust: bool | None = None, line: int = 1) -> None:
    conn.execute(insert(schema.usage).values(
        repository=repo, path="main.py", line=line, library=library, call=call, model_name=name, model=model,
        expression=repr(name) if name else "model_name", resolved=name is not None,
        revision="abc123" if pinned else None, pinned=pinned, trust_remote_code=trust, confidence=1.0))


def build(store: Store) -> dict[str, int]:
    """Fill ``store``; returns the primary keys tests refer to by name."""
    ids: dict[str, int] = {}
    with store.engine.begin() as conn:
        hf = "huggingface"
        ids["bert"] = _model(conn, hf, "org/bert", domain="NLP", pipeline_tag="fill-mask",
                             created_at=datetime(2021, 3, 10, tzinfo=UTC), parameter_count=110_000_000,
                             license_raw="mit", license_spdx="MIT")
        ids["llama"] = _model(conn, hf, "org/llama", domain="NLP", pipeline_tag="text-generation",
                              created_at=datetime(2023, 5, 2, tzinfo=UTC))
        ids["gpt"] = _model(conn, hf, "org/gpt", domain="NLP", pipeline_tag="text-generation",
                            created_at=datetime(2023, 6, 20, tzinfo=UTC), parameter_count=1_300_000_000)
        # No stored domain: the pipeline tag says CV.
        ids["vit"] = _model(conn, hf, "org/vit", pipeline_tag="image-classification",
                            created_at=datetime(2023, 4, 1, tzinfo=UTC), parameter_count=86_000_000)
        ids["whisper"] = _model(conn, hf, "org/whisper", domain="Audio", created_at=datetime(2021, 2, 1, tzinfo=UTC))
        ids["undated"] = _model(conn, hf, "org/undated", domain="Multimodal")
        ids["gone"] = _model(conn, hf, "org/gone", domain="NLP", deleted=True, parameter_count=5,
                             created_at=datetime(2022, 1, 1, tzinfo=UTC))
        pt = "pytorch_hub"
        ids["resnet18"] = _model(conn, pt, "pytorch/vision/resnet18", domain="CV")
        ids["resnet50"] = _model(conn, pt, "pytorch/vision/resnet50", domain="CV")
        ids["wav2vec"] = _model(conn, pt, "pytorch/audio/wav2vec2", domain="Audio")

        # Cards: four live models read, one deleted model's metadata that must not count.
        cm = schema.card_metadata
        for model in ("bert", "gpt"):
            conn.execute(insert(schema.card_extraction).values(model=ids[model], card_sha="s", extractor_version="1",
                                                               extracted_at=NOW))
        rows = [("bert", "license", "mit", "yaml", 1.0), ("bert", "datasets", ["wiki"], "yaml", 1.0),
                ("bert", "parameter_count", None, "rules", 0.2),
                ("llama", "license", "llama2", "yaml", 1.0), ("llama", "datasets", [], "yaml", 1.0),
                ("llama", "parameter_count", 7_000_000_000, "rules", 0.9),
                ("llama", "parameter_count", 6_000_000_000, "llm:small", 0.5),
                ("gpt", "parameter_count", 999, "rules", 0.9),  # the hub's own count wins
                ("vit", "custom_field", {"a": 1}, "llm:small", 0.7),
                ("gone", "license", "mit", "yaml", 1.0)]
        for model, name, value, extractor, confidence in rows:
            conn.execute(insert(cm).values(model=ids[model], field=name, value=value, extractor=extractor,
                                           confidence=confidence))
        conn.execute(insert(schema.model_edge).values(child=ids["llama"], parent_id="org/bert", parent=ids["bert"],
                                                      relation="finetune", evidence="card_yaml"))

        ids["app1"] = _repo(conn, "alice", "app1", "github_search", "downstream", status="ok", clone_status="cloned",
                            cloned_sha="a1", stars=10, forks=2, open_issues=1, is_fork=False, license_spdx="MIT")
        ids["app2"] = _repo(conn, "bob", "app2", "downstream", status="ok", clone_status="cloned", cloned_sha="b1",
                            stars=5, forks=0, open_issues=3, is_fork=True)
        ids["code"] = _repo(conn, "org", "bert-code", "model_card", status="ok", clone_status="cloned",
                            cloned_sha="c1", stars=100, forks=20, open_issues=7, is_fork=False)
        ids["paper_code"] = _repo(conn, "lab", "paper-code", "paper", status="ok", clone_status="cloned",
                                  cloned_sha="p1", stars=1, forks=0, open_issues=0)
        ids["orphan"] = _repo(conn, "x", "orphan", status="pending")

        _scan(conn, ids["app1"], "bandit", "a1", [("high", "insecure_function"), ("critical", "insecure_module"),
                                                  ("low", "insecure_function")])
        _scan(conn, ids["app1"], "semgrep", "a1", [("medium", "unpinned_model")])
        _scan(conn, ids["app1"], "bandit", "old", [("high", "xss")] * 5)  # not the cloned commit: not current
        _scan(conn, ids["app2"], "bandit", "b1", [("high", "sql_injection"), ("low", None)])
        _scan(conn, ids["code"], "bandit", "c1", [("low", "secret")])

        lk = schema.link
        for model, repo, kind in (("bert", "code", "model_card"), ("bert", "app1", "downstream"),
                                  ("bert", "app1", "model_card"), ("bert", "app2", "downstream"),
                                  ("llama", "app1", "downstream"), ("vit", "app2", "downstream"),
                                  ("whisper", "code", "model_card")):
            conn.execute(insert(lk).values(model=ids[model], repository=ids[repo], kind=kind, evidence="e"))
        conn.execute(insert(schema.paper).values(source="file", source_id="p1", venue="ICML", year=2022))

        _use(conn, ids["app1"], "transformers", "AutoModel.from_pretrained", "org/bert", ids["bert"], pinned=False,
             trust=False, line=3)
        _use(conn, ids["app1"], "transformers", "pipeline", "org/llama", ids["llama"], pinned=True, trust=True,
             line=10)
        _use(conn, ids["app1"], "sentence_transformers", "SentenceTransformer", "unknown/thing", None, pinned=False,
             line=12)
        _use(conn, ids["app1"], "transformers", "AutoModel.from_pretrained", None, None, pinned=None, line=20)
        _use(conn, ids["app2"], "transformers", "AutoModel.from_pretrained", "org/bert", ids["bert"], pinned=None,
             trust=True, line=5)
        _use(conn, ids["app2"], "timm", "create_model", "org/vit", ids["vit"], pinned=False, line=7)
        _use(conn, ids["app2"], "torch.hub", "load", "pytorch/vision/resnet18", ids["resnet18"], pinned=False, line=9)
        _use(conn, ids["code"], "transformers", "AutoModel.from_pretrained", "org/bert", ids["bert"], pinned=True)

        lc = schema.license_check
        for model, repo, ml, other, verdict, rule in (
                ("bert", "app1", "MIT", "MIT", "compatible", "permissive"),
                ("bert", "app2", "MIT", None, "unknown", "no_app_license"),
                ("llama", "app1", "LicenseRef-llama2", "MIT", "unknown", "ml_license"),
                ("bert", "code", "MIT", "GPL-3.0-only", "compatible", "permissive"),
                ("gpt", "app1", "GPL-3.0-only", "MIT", "incompatible", "copyleft")):
            conn.execute(insert(lc).values(kind="model_app", model=ids[model], repository=ids[repo], model_license=ml,
                                           other_license=other, verdict=verdict, rule=rule, reason="r"))
        conn.execute(insert(lc).values(kind="base_model", model=ids["llama"], parent=ids["bert"],
                                       model_license="LicenseRef-llama2", other_license="MIT", verdict="incompatible",
                                       rule="base_contradiction", reason="r"))
    ok = store.start_run("collect", "huggingface")
    store.finish_run(ok, "completed", {"models": 7})
    bad = store.start_run("scan", "all")
    store.record_failure(bad, "scan", "x/orphan", "no clone")
    store.finish_run(bad, "failed", {}, "boom")
    return ids
