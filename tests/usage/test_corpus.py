"""Precision and recall of the usage analyzer on the labelled corpus (tests/usage/corpus.py): call sites,
and resolved model ids. Run with ``-s`` to see the figures and every miss."""

from __future__ import annotations

import pytest

from ptmscope.usage.analyzer import UsageReport, analyze_path
from tests.usage.corpus import REPOS, Site, labels, write

NO_ID = frozenset({"?", "local"})


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, UsageReport]:
    base = tmp_path_factory.mktemp("corpus")
    out = {}
    for name, files in REPOS.items():
        write(base / name, files)
        out[name] = analyze_path(base / name)
    return out


def _ratio(hits: int, total: int) -> float:
    return hits / total if total else 1.0


def test_precision_and_recall(reports: dict[str, UsageReport]) -> None:
    expected_sites: set[tuple[str, Site]] = set()
    expected_ids: set[tuple[str, Site, str]] = set()
    found_sites: set[tuple[str, Site]] = set()
    found_ids: set[tuple[str, Site, str]] = set()
    for name, files in REPOS.items():
        for site, ids in labels(files).items():
            expected_sites.add((name, site))
            expected_ids.update((name, site, i) for i in ids if i not in NO_ID)
        for u in reports[name].usages:
            site = (u.path, u.cell, u.line)
            found_sites.add((name, site))
            if u.model is not None:
                found_ids.add((name, site, u.model))
    site_hits = len(expected_sites & found_sites)
    id_hits = len(expected_ids & found_ids)
    figures = {
        "call sites": (_ratio(site_hits, len(found_sites)), _ratio(site_hits, len(expected_sites)),
                       len(expected_sites)),
        "resolved ids": (_ratio(id_hits, len(found_ids)), _ratio(id_hits, len(expected_ids)), len(expected_ids)),
    }
    print()
    for what, (precision, recall, n) in figures.items():
        print(f"{what}: precision {precision:.3f}, recall {recall:.3f} ({n} labelled)")
    for miss in sorted(expected_sites - found_sites, key=str):
        print("  missed site", miss)
    for extra in sorted(found_sites - expected_sites, key=str):
        print("  extra site", extra)
    for miss in sorted(expected_ids - found_ids, key=str):
        print("  missed id", miss)
    for extra in sorted(found_ids - expected_ids, key=str):
        print("  wrong id", extra)
    assert len(expected_sites) >= 80  # the corpus is big enough for the figures to mean something
    assert figures["call sites"][0] >= 0.95 and figures["call sites"][1] >= 0.95
    assert figures["resolved ids"][0] >= 0.9 and figures["resolved ids"][1] >= 0.9


def test_unparsable_files_are_skipped_with_reason_and_read_by_pattern(reports: dict[str, UsageReport]) -> None:
    report = reports["legacy-py2"]
    reasons = dict(report.skipped)
    assert "does not parse as Python 3" in reasons["old_train.py"]
    assert "does not parse as Python 3" in reasons["broken.py"]
    assert {u.confidence for u in report.usages} == {0.5}


def test_local_paths_are_not_hub_models(reports: dict[str, UsageReport]) -> None:
    for name, files in REPOS.items():
        local = {site for site, ids in labels(files).items() if ids == ["local"]}
        for u in reports[name].usages:
            if (u.path, u.cell, u.line) in local:
                assert (u.kind, u.model, u.resolved) == ("local", None, False), u
                assert u.local_path
