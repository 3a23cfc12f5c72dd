"""Paper code links: precision and recall on the real, messy ``github`` fields of the paper fixtures.

``data/papercopilot_labels.json`` holds, for every papercopilot record with a ``github`` value, the
repositories a careful reader finds in it (keyed by ``sha1(venue|year|title)[:12]``). The labels were
written by reading each value: owner-only URLs, ``git.io`` short links, Pages user sites and badges
that only point to Papers with Code name no repository; ``.git`` and deeper paths are not part of a
name; a Pages project site ``owner.github.io/name`` names ``owner/name`` (GitHub serves it from there).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import pytest

from ptmscope.link.extract import KIND_PAPER_CODE, KIND_PAPER_TEXT, PAPER_TEXT_FACTOR, links_for_paper
from ptmscope.link.urls import REASON_OWNER_ONLY, REASON_PAGES_SITE, REASON_SHORT_LINK
from tests.conftest import shared_path

LABELS = Path(__file__).parent / "data" / "papercopilot_labels.json"


def _key(record: dict[str, object]) -> str:
    return hashlib.sha1(f"{record['venue']}|{record['year']}|{record['title']}".encode()).hexdigest()[:12]


def _micro(pairs: list[tuple[str, set[str], set[str]]]) -> tuple[float, float, list[str], list[str]]:
    """Micro precision and recall over (record, repository) pairs; the false positives and negatives."""
    tp = sum(len(expected & got) for _, expected, got in pairs)
    fps = [f"{record}: {sorted(got - expected)}" for record, expected, got in pairs if got - expected]
    fns = [f"{record}: {sorted(expected - got)}" for record, expected, got in pairs if expected - got]
    n_fp = sum(len(got - expected) for _, expected, got in pairs)
    n_fn = sum(len(expected - got) for _, expected, got in pairs)
    return tp / max(1, tp + n_fp), tp / max(1, tp + n_fn), fps, fns


@pytest.mark.shared
def test_papercopilot_github_fields() -> None:
    records = json.loads(shared_path("fixtures", "papers", "papercopilot_sample.json").read_text())
    labels: dict[str, list[str]] = json.loads(LABELS.read_text())
    with_github = [r for r in records if r.get("github")]
    assert len(with_github) == len(labels) == 276
    pairs = []
    reasons: dict[str, int] = {}
    for record in with_github:
        found = links_for_paper(code_links=[record["github"]])
        pairs.append((_key(record), {n.lower() for n in labels[_key(record)]}, {c.repo.key for c in found.candidates}))
        assert all(c.kind == KIND_PAPER_CODE and c.field == "code_links" for c in found.candidates)
        for rejected in found.rejected:
            reasons[rejected.reason] = reasons.get(rejected.reason, 0) + 1
    precision, recall, fps, fns = _micro(pairs)
    expected_pairs = sum(len(e) for _, e, _ in pairs)
    print(f"\npapercopilot: {len(pairs)} records, {expected_pairs} labelled (record, repo) pairs: "
          f"precision {precision:.3f} recall {recall:.3f}; rejected {reasons}")
    print("false positives:", fps or "none")
    print("misses:", fns or "none")
    assert precision >= 0.95 and recall >= 0.95
    assert reasons == {REASON_OWNER_ONLY: 2, REASON_SHORT_LINK: 1, REASON_PAGES_SITE: 3}


@pytest.mark.shared
def test_papercopilot_records_without_github_give_nothing() -> None:
    records = json.loads(shared_path("fixtures", "papers", "papercopilot_sample.json").read_text())
    for record in records:
        if record.get("github"):
            continue
        # Other URLs of the record (conference page, OpenReview, PDF, project page) name no repository.
        values = [v for k, v in record.items() if isinstance(v, str) and k in {"site", "openreview", "pdf", "project"}]
        assert links_for_paper(code_links=values).candidates == ()


@pytest.mark.shared
def test_zziz_repo_links() -> None:
    path = shared_path("fixtures", "papers", "zziz_pwc.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # Every repo_link was read: all are plain https://github.com/<owner>/<name>[/] URLs except one
    # owner page (github.com/bianan), which names no repository.
    plain = re.compile(r"https://github\.com/([A-Za-z0-9-]+)/([A-Za-z0-9._-]+)/?")
    pairs = []
    for i, row in enumerate(rows):
        match = plain.fullmatch(row["repo_link"])
        assert match or row["repo_link"] == "https://github.com/bianan"
        expected = {f"{match.group(1)}/{match.group(2)}".lower()} if match else set()
        got = {c.repo.key for c in links_for_paper(code_links=[row["repo_link"]]).candidates}
        pairs.append((f"row {i + 2}", expected, got))
    precision, recall, fps, fns = _micro(pairs)
    print(f"\nzziz/pwc: {len(rows)} rows: precision {precision:.3f} recall {recall:.3f}; "
          f"false positives {fps or 'none'}; misses {fns or 'none'}")
    assert precision >= 0.95 and recall >= 0.95


def test_code_link_shapes_and_abstract() -> None:
    found = links_for_paper(
        code_links=["https://github.com/A/One;https://github.com/b/two", {"url": "github.com/a/one.git"}, {"x": 1}, 7],
        abstract="We build on github.com/other/lib.\nOur code: https://github.com/A/One and https://git.io/xyz.")
    assert [(c.repo.full_name, c.kind, c.field, c.confidence) for c in found.candidates] == [
        ("A/One", KIND_PAPER_CODE, "code_links", 1.0), ("b/two", KIND_PAPER_CODE, "code_links", 1.0),
        ("other/lib", KIND_PAPER_TEXT, "abstract", PAPER_TEXT_FACTOR),
        ("A/One", KIND_PAPER_TEXT, "abstract", PAPER_TEXT_FACTOR)]
    assert found.candidates[0].evidence == "https://github.com/A/One;https://github.com/b/two"
    assert found.candidates[2].evidence == "We build on github.com/other/lib."
    assert [r.reason for r in found.rejected] == [REASON_SHORT_LINK]
    assert links_for_paper(code_links="https://github.com/x/y").candidates[0].repo.full_name == "x/y"
    assert links_for_paper().candidates == ()
