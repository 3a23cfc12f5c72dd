"""Every table and figure of the report on the hand-built store in world.py, against answers worked out by hand."""

from __future__ import annotations

import sys
import types
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from ptmscope.analysis import cards, exposure, hubs, licenses, overview, repositories, scanners, usage
from ptmscope.analysis.common import Period, period_of, period_range
from ptmscope.cards.schema import FIELDS
from ptmscope.store import Store, open_store, schema
from tests.analysis import world
from tests.conftest import PostgresServer


@pytest.fixture
def store(sqlite_url: str) -> Store:
    s = open_store(sqlite_url)
    world.build(s)
    return s


@pytest.fixture
def empty(sqlite_url: str) -> Store:
    return open_store(sqlite_url)


def test_fig8_domains_per_hub(store: Store) -> None:
    rows = [(r.hub, r.domain, r.models, round(r.percent, 2)) for r in hubs.domains_per_hub(store)]
    # The deleted NLP model is left out; vit has no stored domain and lands in CV through its pipeline tag.
    assert rows == [("huggingface", "NLP", 3, 50.0), ("huggingface", "CV", 1, 16.67),
                    ("huggingface", "Audio", 1, 16.67), ("huggingface", "Multimodal", 1, 16.67),
                    ("pytorch_hub", "CV", 2, 66.67), ("pytorch_hub", "Audio", 1, 33.33)]


def test_fig9_downstream_repositories_per_domain(store: Store) -> None:
    rows = [(r.hub, r.domain, r.repositories, round(r.percent, 2), r.hub_repositories)
            for r in usage.downstream_per_domain(store)]
    # HF: app1, app2 and bert-code load NLP models; app2 also a CV one. Unmatched names have no hub.
    assert rows == [("huggingface", "NLP", 3, 100.0, 3), ("huggingface", "CV", 1, 33.33, 3),
                    ("pytorch_hub", "CV", 1, 100.0, 1)]


def test_most_loaded_models(store: Store) -> None:
    rows = [(m.model, m.hub, m.in_store, m.domain, m.repositories, m.call_sites, m.pinned)
            for m in usage.most_loaded(store, limit=None)]
    assert rows == [("org/bert", "huggingface", True, "NLP", 3, 3, 1),
                    ("org/llama", "huggingface", True, "NLP", 1, 1, 1),
                    ("org/vit", "huggingface", True, "CV", 1, 1, 0),
                    ("pytorch/vision/resnet18", "pytorch_hub", True, "CV", 1, 1, 0),
                    ("unknown/thing", None, False, None, 1, 1, 0)]
    assert [m.model for m in usage.most_loaded(store, limit=2)] == ["org/bert", "org/llama"]


def test_pinning_share(store: Store) -> None:
    pin = usage.pinning(store)
    assert (pin.call_sites, pin.resolved, pin.in_store, pin.pinned, pin.trust_remote_code, pin.repositories) == (
        8, 7, 6, 2, 2, 3)
    assert pin.percent_pinned == pytest.approx(25.0)
    assert [(b.library, b.call_sites, b.pinned) for b in pin.by_library] == [
        ("transformers", 5, 2), ("sentence_transformers", 1, 0), ("timm", 1, 0), ("torch.hub", 1, 0)]
    assert pin.by_library[0].percent == pytest.approx(40.0)


def test_unpinned_usage_flags_remote_code(store: Store) -> None:
    rows = usage.unpinned_usage(store)
    assert [(u.model, u.in_store, u.call_sites, u.repositories, u.trust_remote_code) for u in rows] == [
        ("org/bert", True, 2, 2, 1),  # loaded with trust_remote_code=True somewhere: first
        ("org/vit", True, 1, 1, 0), ("pytorch/vision/resnet18", True, 1, 1, 0), ("unknown/thing", False, 1, 1, 0)]
    # The remote-code call site is listed first; the pinned llama call site and the unresolved one are absent.
    assert rows[0].locations == ("bob/app2:main.py:5", "alice/app1:main.py:3")


def test_fig7_field_availability(store: Store) -> None:
    total, rows = cards.field_availability(store)
    # Read: bert and gpt (extraction rows), llama and vit (metadata rows); the deleted model's row is left out.
    assert total == 4
    by_field = {r.field: (r.models, r.percent) for r in rows}
    assert [r.field for r in rows] == [*FIELDS, "custom_field"]
    assert by_field["license"] == (2, 50.0)
    assert by_field["datasets"] == (1, 25.0)  # llama's empty list is no datasets
    assert by_field["parameter_count"] == (2, 50.0)  # bert's null is no count
    assert by_field["custom_field"] == (1, 25.0)
    assert all(by_field[f] == (0, 0.0) for f in FIELDS if f not in ("license", "datasets", "parameter_count"))


def test_fig10_models_over_time(store: Store) -> None:
    rows = [(r.period, r.domain, r.models) for r in cards.models_over_time(store)]
    assert rows == [("2021-02", "Audio", 1), ("2021-03", "NLP", 1), ("2023-04", "CV", 1), ("2023-05", "NLP", 1),
                    ("2023-06", "NLP", 1)]
    yearly = [(r.period, r.domain, r.models) for r in cards.models_over_time(store, period=Period.year)]
    assert yearly == [("2021", "NLP", 1), ("2021", "Audio", 1), ("2023", "NLP", 2), ("2023", "CV", 1)]
    assert [(r.period, r.models) for r in cards.models_over_time(store, "pytorch_hub")] == []  # no dates there


def test_fig11_median_parameters(store: Store) -> None:
    sizes = cards.parameter_counts(store)
    ids = {name: pk for name, pk in _ids(store).items()}
    # llama: the most confident extracted count; gpt: the hub's count over the card's.
    assert sizes[ids["llama"]] == 7_000_000_000 and sizes[ids["gpt"]] == 1_300_000_000
    rows = [(r.period, r.domain, r.models, r.median) for r in cards.median_parameters_over_time(store)]
    assert rows == [("2021-Q1", "NLP", 1, 110_000_000.0), ("2023-Q2", "NLP", 2, 4_150_000_000.0),
                    ("2023-Q2", "CV", 1, 86_000_000.0)]


def _ids(store: Store) -> dict[str, int]:
    m = schema.model
    with store.engine.connect() as conn:
        return {mid.split("/")[-1]: pk for pk, mid in conn.execute(m.select().with_only_columns(m.c.id, m.c.model_id))}


def test_parameter_counts_ignore_junk_values(empty: Store) -> None:
    with empty.engine.begin() as conn:
        pk = conn.execute(insert(schema.model).values(hub="huggingface", model_id="a/b", deleted=False,
                                                      created_at=datetime(2022, 1, 1, tzinfo=UTC))
                          .returning(schema.model.c.id)).scalar_one()
        for n, value in enumerate((True, "7B", -3, 0, 2.5, 3e9)):
            conn.execute(insert(schema.card_metadata).values(model=pk, field="parameter_count", value=value,
                                                             extractor=f"x{n}", confidence=1.0 - n / 10))
    assert cards.parameter_counts(empty) == {pk: 3_000_000_000}


def test_fig12_license_flows(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(licenses, "family_function", lambda: ("spdx", lambda expr: expr))
    s = licenses.license_summary(store)
    assert (s.grouping, s.pairs, s.identical, s.app_without_license) == ("spdx", 5, 1, 1)
    assert s.by_verdict == {"compatible": 2, "incompatible": 1, "unknown": 2}
    assert s.base_model_checks == {"compatible": 0, "incompatible": 1, "unknown": 0}
    assert s.percent("incompatible") == pytest.approx(20.0)
    assert all((f.model_family, f.app_family) == (f.model_license, f.app_license) for f in s.flows)
    assert s.model_families == s.model_licenses and s.app_families == s.app_licenses
    assert sorted((f.model_license, f.app_license, f.verdict, f.pairs) for f in s.flows) == [
        ("GPL-3.0-only", "MIT", "incompatible", 1), ("LicenseRef-llama2", "MIT", "unknown", 1),
        ("MIT", "GPL-3.0-only", "compatible", 1), ("MIT", "MIT", "compatible", 1),
        ("MIT", licenses.NO_LICENSE, "unknown", 1)]
    assert s.model_licenses == [("MIT", 3), ("GPL-3.0-only", 1), ("LicenseRef-llama2", 1)]
    assert s.app_licenses == [("MIT", 3), ("GPL-3.0-only", 1), (licenses.NO_LICENSE, 1)]
    assert [(r.kind, r.rule, r.verdict, r.checks) for r in s.rules] == [
        ("model_app", "permissive", "compatible", 2), ("base_model", "base_contradiction", "incompatible", 1),
        ("model_app", "copyleft", "incompatible", 1), ("model_app", "ml_license", "unknown", 1),
        ("model_app", "no_app_license", "unknown", 1)]


def test_fig12_groups_by_family_when_the_licenses_stage_offers_one(store: Store,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("ptmscope.licenses.normalize")
    fake.spdx_family = lambda expr: "permissive" if expr in ("MIT", "Apache-2.0") else None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ptmscope.licenses.normalize", fake)
    s = licenses.license_summary(store)
    assert s.grouping == "family"
    # A family of None keeps the expression itself; expressions stay as they are beside their family.
    assert s.model_families == [("permissive", 3), ("GPL-3.0-only", 1), ("LicenseRef-llama2", 1)]
    assert s.app_families == [("permissive", 3), ("GPL-3.0-only", 1), (licenses.NO_LICENSE, 1)]
    assert s.model_licenses == [("MIT", 3), ("GPL-3.0-only", 1), ("LicenseRef-llama2", 1)]
    assert {(f.model_license, f.model_family) for f in s.flows} == {
        ("MIT", "permissive"), ("GPL-3.0-only", "GPL-3.0-only"), ("LicenseRef-llama2", "LicenseRef-llama2")}


def test_exposed_models(store: Store) -> None:
    rows = [(e.hub, e.model, e.repositories, e.high, e.kinds, e.worst_repository, e.worst_high)
            for e in exposure.exposed_models(store, limit=None)]
    # app1 holds one high and one critical finding in its current scans, app2 one high; bert-code none.
    assert rows == [("huggingface", "org/bert", 2, 3, ("downstream", "model_card"), "alice/app1", 2),
                    ("huggingface", "org/llama", 1, 2, ("downstream",), "alice/app1", 2),
                    ("huggingface", "org/vit", 1, 1, ("downstream",), "bob/app2", 1)]
    assert len(exposure.exposed_models(store, limit=1)) == 1


def test_repositories_per_perspective(store: Store) -> None:
    rows = {r.perspective: r for r in repositories.repository_summary(store)}
    assert list(rows) == ["paper", "model_card", "github_search", "downstream", "(no perspective)", "total"]
    d = rows["downstream"]
    assert (d.repositories, d.fetched, d.cloned, d.scanned, d.forks_of_others, d.stars, d.forks, d.open_issues) == (
        2, 2, 2, 2, 1, 15, 2, 4)
    t = rows["total"]
    assert (t.repositories, t.fetched, t.cloned, t.scanned, t.stars) == (5, 4, 4, 3, 116)
    assert (rows["paper"].scanned, rows["(no perspective)"].fetched) == (0, 0)


def test_table4_checks_and_findings(store: Store) -> None:
    table = scanners.scanner_table(store)
    assert table.scanners[:3] == ("bandit", "flawfinder", "semgrep")
    rows = {r.vuln_type: r for r in table.rows}
    assert rows["insecure_function"].findings["bandit"] == 2
    assert rows["insecure_module"].findings["bandit"] == 1
    assert rows["unpinned_model"].findings == {s: int(s == "semgrep") for s in table.scanners}
    assert rows["xss"].total_findings == 0  # only in the stale scan
    assert rows[scanners.UNMAPPED].findings["bandit"] == 1
    assert table.totals()["bandit"] == 6 and sum(table.totals().values()) == 7
    # Checks come from the installed scanners: every seed type has some.
    assert all(sum(r.checks.values()) > 0 for r in table.rows if r.seed)


def test_overview(store: Store) -> None:
    ov = overview.overview(store)
    assert ov.models == {"huggingface": 6, "pytorch_hub": 3} and ov.deleted_models == 1
    assert (ov.papers, ov.repositories, ov.repositories_cloned, ov.repositories_scanned) == (1, 5, 4, 3)
    assert ov.links == {"downstream": 4, "model_card": 3}
    assert ov.findings == {"low": 3, "medium": 1, "high": 2, "critical": 1}
    assert (ov.usage_call_sites, ov.usage_repositories, ov.card_models, ov.model_edges) == (8, 3, 5, 1)
    assert ov.license_pairs == {"compatible": 2, "incompatible": 1, "unknown": 2}
    stages = {s.stage: s for s in ov.stages}
    assert (stages["collect"].completed, stages["scan"].failed, stages["scan"].failures) == (1, 1, 1)
    assert stages["scan"].last_status == "failed"


def test_every_function_on_an_empty_store(empty: Store) -> None:
    assert hubs.domains_per_hub(empty) == []
    assert usage.downstream_per_domain(empty) == [] and usage.most_loaded(empty) == []
    assert usage.unpinned_usage(empty) == []
    pin = usage.pinning(empty)
    assert (pin.call_sites, pin.percent_pinned, pin.by_library) == (0, 0.0, [])
    total, fields = cards.field_availability(empty)
    assert total == 0 and all(f.models == 0 and f.percent == 0.0 for f in fields)
    assert cards.models_over_time(empty) == [] and cards.median_parameters_over_time(empty) == []
    s = licenses.license_summary(empty)
    assert (s.pairs, s.flows, s.percent("compatible")) == (0, [], 0.0)
    assert exposure.exposed_models(empty) == [] and repositories.repository_summary(empty) == []
    assert scanners.scanner_table(empty).totals() == dict.fromkeys(scanners.scanner_table(empty).scanners, 0)
    ov = overview.overview(empty)
    assert (ov.total_models, ov.stages, ov.first_run) == (0, [], None)


def test_periods() -> None:
    when = datetime(2023, 11, 5, tzinfo=UTC)
    assert [period_of(when, p) for p in Period] == ["2023-11", "2023-Q4", "2023"]
    assert period_range("2022-11", "2023-02", Period.month) == ["2022-11", "2022-12", "2023-01", "2023-02"]
    assert period_range("2022-Q4", "2023-Q2", Period.quarter) == ["2022-Q4", "2023-Q1", "2023-Q2"]
    assert period_range("2021", "2023", Period.year) == ["2021", "2022", "2023"]
    assert period_range("2023-05", "2023-05", Period.month) == ["2023-05"]


@pytest.mark.postgres
def test_figures_on_postgresql(postgres_server: PostgresServer) -> None:
    """The queries that group, order with NULLS LAST and read JSON, on the other backend."""
    store = open_store(postgres_server.create_database())
    world.build(store)
    assert [(r.period, r.median) for r in cards.median_parameters_over_time(store)][1] == ("2023-Q2", 4_150_000_000.0)
    assert cards.field_availability(store)[0] == 4
    assert [r.repositories for r in usage.downstream_per_domain(store)] == [3, 1, 1]
    assert [e.model for e in exposure.exposed_models(store)] == ["org/bert", "org/llama", "org/vit"]
    assert overview.overview(store).findings == {"low": 3, "medium": 1, "high": 2, "critical": 1}
