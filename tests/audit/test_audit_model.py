"""The audit's facts about models (store, hub) and the issues it derives from them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ptmscope.config import HttpSettings, Settings
from ptmscope.replay import HubCorpus, HuggingFaceApp, ReplayServer
from ptmscope.report.audit import (
    RULES,
    AppLicense,
    AuditResult,
    BaseLink,
    CallSite,
    Compat,
    FileVerdict,
    HubLookup,
    ModelAudit,
    ModelFacts,
    _Resolver,
    assess,
    custom_code,
    hub_flags,
    stored_facts,
    weight_facts,
)
from ptmscope.store import Store, open_store
from tests.audit.helpers import SHA, fill_store, hub_corpus


@pytest.fixture
def store(sqlite_url: str) -> Store:
    store = open_store(sqlite_url)
    fill_store(store)
    return store


def test_pickle_only_needs_pickle_weights_and_no_safe_copy() -> None:
    assert weight_facts(["config.json", "pytorch_model.bin"]) == (["bin"], True)
    assert weight_facts(["pytorch_model.bin", "model.safetensors"]) == (["bin", "safetensors"], False)
    assert weight_facts(["original/consolidated.00.pth", "model-00001-of-00002.safetensors"])[1] is False
    assert weight_facts(["ggml-model-q4.gguf", "model.ckpt"]) == (["ckpt", "gguf"], False)
    assert weight_facts(["README.md", "config.json"]) == ([], False)
    # The hub's safetensors summary says the weights are there even when the file list is not known.
    assert weight_facts(None, {"total": 10}) == (["safetensors"], False)
    assert weight_facts(None) == ([], None)
    assert weight_facts(["MODEL.BIN"])[1] is True


def test_custom_code_from_auto_map_tags_or_python_files() -> None:
    assert custom_code({"auto_map": {"AutoModel": "m.M"}}, [], None) is True
    assert custom_code({}, ["custom_code"], None) is True
    assert custom_code(None, [], ["modeling_x.py", "config.json"]) is True
    assert custom_code({"model_type": "bert"}, ["transformers"], ["config.json"]) is False
    assert custom_code(None, [], None) is None


def test_hub_flags_keep_every_level_but_safe() -> None:
    status = {"scansDone": True, "filesWithIssues": [
        {"path": "a.bin", "level": "unsafe"}, {"path": "b.bin", "level": "suspicious"},
        {"path": "c.bin", "level": "safe"}, {"level": "unsafe"}, "junk"]}
    assert [(f.path, f.level) for f in hub_flags(status)] == [("a.bin", "unsafe"), ("b.bin", "suspicious")]
    assert hub_flags(None) == [] and hub_flags({"filesWithIssues": "x"}) == []


def test_store_matches_exact_then_case_insensitive_then_former_names(db_url: str) -> None:
    # Case folding and JSON columns are where SQLite and PostgreSQL could differ: both are checked.
    store = open_store(db_url)
    fill_store(store)
    with store.engine.connect() as conn:
        exact = stored_facts(conn, "acme/pickled-model")
        folded = stored_facts(conn, "ACME/Pickled-Model")
        renamed = stored_facts(conn, "oldorg/old-name")
        assert stored_facts(conn, "nobody/nothing") is None
        pinned = stored_facts(conn, "acme/pinned-model")
        finetune = stored_facts(conn, "acme/finetune")
        custom = stored_facts(conn, "acme/custom-model")
    assert exact is not None and exact.match == "exact" and exact.source == "store"
    assert exact.pickle_only is True and exact.weight_formats == ["bin"]
    assert folded is not None and folded.match == "case_insensitive" and folded.current_id == "acme/pickled-model"
    assert renamed is not None and renamed.match == "alias" and renamed.current_id == "neworg/new-name"
    # Only the flagged file's verdict is kept; the clean safetensors file is not an issue.
    assert pinned is not None and [(v.path, v.scanner, v.outcome, v.details) for v in pinned.verdicts] == [
        ("pytorch_model.bin", "picklescan", "dangerous", "posix.system")]
    assert pinned.pickle_only is False
    assert finetune is not None and finetune.base_models == [("research/nc-model", "adapter")]
    assert custom is not None and custom.custom_code is True


def _site(model: str | None, line: int, **kw: Any) -> CallSite:
    kw.setdefault("pinned_to_commit", bool(kw.get("pinned")) and kw.get("revision") == SHA)
    return CallSite("app.py", line, None, "transformers", "AutoModel.from_pretrained", model, **kw)


def _ids(issues: list[object]) -> list[tuple[str, str, int | None]]:
    return [(i.rule, i.severity, i.line) for i in issues]  # type: ignore[attr-defined]


def test_assess_one_cause_per_issue(tmp_path: Path) -> None:
    safe = ModelFacts("store", "exact", "a/safe", license="MIT", weight_formats=["safetensors"], pickle_only=False,
                      custom_code=False)
    pickled = ModelFacts("store", "exact", "a/pickled", license="MIT", weight_formats=["bin"], pickle_only=True)
    nc = ModelFacts("hub", "hub", "r/nc", license="CC-BY-NC-4.0", gated="manual", pickle_only=False)
    renamed = ModelFacts("store", "alias", "new/name", license="MIT", pickle_only=False)
    child = ModelFacts("store", "exact", "a/child", license="Apache-2.0", pickle_only=False,
                       base_models=[("r/nc", "finetune")])
    no_license = ModelFacts("store", "exact", "a/nolicense", license=None, license_raw="my-own-terms",
                            pickle_only=False)
    models = [
        ModelAudit("a/safe", [_site("a/safe", 1, revision=SHA, pinned=True)], safe, "store",
                   compatibility=Compat("compatible", "mit-mit", "")),
        ModelAudit("a/pickled", [_site("a/pickled", 2, pinned=False)], pickled, "store",
                   compatibility=Compat("compatible", "mit-mit", "")),
        ModelAudit("r/nc", [_site("r/nc", 3, revision=SHA, pinned=True)], nc, "hub",
                   compatibility=Compat("incompatible", "non-commercial", "NC terms")),
        ModelAudit("old/name", [_site("old/name", 4, revision=SHA, pinned=True)], renamed, "store",
                   compatibility=Compat("compatible", "mit-mit", "")),
        ModelAudit("a/child", [_site("a/child", 5, revision=SHA, pinned=True)], child, "store",
                   compatibility=Compat("compatible", "apache", ""),
                   lineage=[BaseLink("a/child", "r/nc", "finetune", "Apache-2.0", "CC-BY-NC-4.0", True,
                                     Compat("incompatible", "nc-parent", "derivative of NC"))]),
        ModelAudit("a/nolicense", [_site("a/nolicense", 6, revision=SHA, pinned=True)], no_license, "store"),
        ModelAudit("a/remote", [_site("a/remote", 7, revision="main", pinned=False, trust_remote_code=True),
                                _site("a/remote", 8, revision=SHA, pinned=True, trust_remote_code=True)],
                   ModelFacts("hub", "hub", "a/remote", license="MIT", pickle_only=False, custom_code=True), "hub",
                   compatibility=Compat("compatible", "mit-mit", "")),
        ModelAudit("ghost/x", [_site("ghost/x", 9, revision=SHA, pinned=True)], None, "not_found"),
        ModelAudit("offline/x", [_site("offline/x", 10, pinned=False)], None, "offline"),
    ]
    result = AuditResult(tmp_path, AppLicense("MIT", "LICENSE"), models,
                         unresolved=[_site(None, 11, expression="sys.argv[1]")])
    issues = assess(result)
    assert sorted(_ids(issues)) == sorted([
        ("AUD003", "high", 2), ("AUD001", "medium", 2),
        ("AUD004", "high", 3), ("AUD006", "low", 3),
        ("AUD012", "medium", 4),
        ("AUD008", "medium", 5),
        ("AUD005", "low", 6),
        ("AUD002", "critical", 7), ("AUD009", "medium", 8),
        ("AUD011", "high", 9),
        ("AUD001", "medium", 10),
        ("AUD013", "low", 11),
    ])
    # Most severe first, then by place in the code.
    assert [i.severity for i in issues][:3] == ["critical", "high", "high"]
    assert all(i.rule in RULES for i in issues)
    assert result.worst() is None  # issues are not on the result until assigned
    result.issues = issues
    assert result.worst() == "critical"
    assert result.breaches("critical") and result.breaches("low") and not result.breaches(None)


def test_one_issue_per_flagged_file_whatever_the_number_of_scanners(tmp_path: Path) -> None:
    facts = ModelFacts("store", "exact", "a/evil", license="MIT", pickle_only=False,
                       verdicts=[FileVerdict("pytorch_model.bin", "modelfiles", "dangerous", "os.system"),
                                 FileVerdict("pytorch_model.bin", "picklescan", "dangerous", "posix.system"),
                                 FileVerdict("extra.pkl", "modelfiles", "suspicious", None)])
    result = AuditResult(tmp_path, AppLicense("MIT", "LICENSE"), [
        ModelAudit("a/evil", [_site("a/evil", 1, revision=SHA, pinned=True)], facts, "store",
                   compatibility=Compat("compatible", "mit-mit", ""))])
    flagged = [i for i in assess(result) if i.rule == "AUD007"]
    assert sorted((i.severity, i.message.split(" is ")[0]) for i in flagged) == [
        ("critical", "a/evil: pytorch_model.bin"), ("high", "a/evil: extra.pkl")]
    assert "modelfiles: dangerous (os.system); picklescan: dangerous (posix.system)" in flagged[0].message + \
        flagged[1].message


def test_assess_mitigations_and_missing_license(tmp_path: Path) -> None:
    pickled = ModelFacts("store", "exact", "a/pickled", license="MIT", weight_formats=["bin"], pickle_only=True)
    no_code = ModelFacts("store", "exact", "a/plain", license="MIT", pickle_only=False, custom_code=False)
    models = [
        # use_safetensors=True everywhere: the load cannot fall back to the pickles.
        ModelAudit("a/pickled", [_site("a/pickled", 1, revision=SHA, pinned=True, use_safetensors=True)], pickled,
                   "store"),
        # trust_remote_code on a pinned model with no code: nothing would run.
        ModelAudit("a/plain", [_site("a/plain", 2, revision=SHA, pinned=True, trust_remote_code=True)], no_code,
                   "store"),
    ]
    result = AuditResult(tmp_path, AppLicense(None), models)
    assert _ids(assess(result)) == [("AUD014", "low", None)]


class _CountingHub:
    endpoint = "http://hub.invalid"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def lookup(self, model_id: str) -> object:
        from ptmscope.report.audit import HubAnswer

        self.asked.append(model_id)
        return HubAnswer("not_found")


def test_resolver_prefers_the_store_and_asks_the_hub_once(store: Store) -> None:
    hub = _CountingHub()
    with store.engine.connect() as conn:
        resolver = _Resolver(conn, hub, offline=False)
        assert resolver.resolve("acme/pickled-model")[1] == "store"
        assert resolver.resolve("x/y")[1] == "not_found"
        assert resolver.resolve("x/y")[1] == "not_found"
        assert resolver.resolve("pytorch/vision/resnet50", "pytorch_hub")[1] == "not_in_store"
        offline = _Resolver(conn, hub, offline=True)
        assert offline.resolve("x/z")[1] == "offline"
    assert hub.asked == ["x/y"]


@pytest.fixture
def replay_hub() -> Iterator[tuple[HubCorpus, ReplayServer]]:
    corpus = hub_corpus()
    with ReplayServer(HuggingFaceApp(corpus)) as server:
        yield corpus, server


def _settings(endpoint: str) -> Settings:
    return Settings(hf_endpoint=endpoint, http=HttpSettings(timeout=5, max_retries=0, backoff_base=0.01))


def test_hub_lookup_found_renamed_and_missing(replay_hub: tuple[HubCorpus, ReplayServer]) -> None:
    _, server = replay_hub
    lookup = HubLookup(_settings(server.url))
    try:
        found = lookup.lookup("hubonly/remote-model")
        moved = lookup.lookup("oldorg/moved")
        missing = lookup.lookup("ghost/missing-model")
    finally:
        lookup.close()
    assert found.status == "found" and found.record is not None
    assert found.record.license_raw == "apache-2.0" and found.record.base_models == ("acme/pinned-model",)
    assert found.record.security_status["filesWithIssues"][0]["level"] == "suspicious"
    assert moved.status == "found" and moved.record is not None and moved.record.model_id == "neworg/moved"
    assert missing.status == "not_found"
    assert lookup.reachable is True
    # The audit asked for the hub's own scan with each record.
    assert any("securityStatus=" in entry.target for entry in server.log)


def test_hub_lookup_unreachable_is_a_note_not_a_failure() -> None:
    from tests.conftest import _free_port

    lookup = HubLookup(_settings(f"http://127.0.0.1:{_free_port()}"))
    try:
        first = lookup.lookup("a/b")
        second = lookup.lookup("c/d")
    finally:
        lookup.close()
    assert first.status == second.status == "unreachable"
    assert lookup.reachable is False and lookup.reason


def test_only_a_commit_pin_cannot_move(tmp_path: Path) -> None:
    facts = ModelFacts("store", "exact", "a/m", license="MIT", pickle_only=False, custom_code=True)
    sites = [_site("a/m", 1, revision="v1.0", pinned=True),  # a tag: can be moved
             _site("a/m", 2, revision=None, pinned=None),  # a revision computed at run time
             _site("a/m", 3, revision="v1.0", pinned=True, trust_remote_code=True),
             _site("a/m", 4, revision=SHA, pinned=True),
             _site("a/m", 5, revision="main", pinned=False)]
    result = AuditResult(tmp_path, AppLicense("MIT"), [ModelAudit("a/m", sites, facts, "store",
                                                                  compatibility=Compat("compatible", "x", ""))])
    assert sorted(_ids(assess(result)), key=lambda i: i[2] or 0) == [
        ("AUD001", "low", 1), ("AUD001", "low", 2), ("AUD002", "high", 3), ("AUD001", "medium", 5)]
