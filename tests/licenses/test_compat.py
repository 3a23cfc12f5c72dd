"""Compatibility rules: the transcribed Linux Foundation table against the reference, cell by cell; the table
applied through ``compatibility``; ML-license rules; expressions; base-model chains."""

from __future__ import annotations

import csv

import pytest

from ptmscope.licenses.compat import Verdict, chain_conflict, compatibility, rules_table
from ptmscope.licenses.normalize import normalize_license
from tests.conftest import shared_path

CELL = {"yes": "compatible", "no": "incompatible", "?": "unknown"}
FIXED = {"bls-1.0": "BSL-1.0", "lib-png": "Libpng", "lib-tiff": "libtiff"}


def reference_cells() -> list[tuple[str, str, str]]:
    """(outbound label, component label, cell) for every off-diagonal cell of the reference matrix."""
    path = shared_path("reference", "peatmoss-license-compat", "lf_oss_license_compatibility_matrix.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    components = rows[0][1:]
    return [(row[0], component, cell) for row in rows[1:] for component, cell in zip(components, row[1:], strict=True)
            if cell]


@pytest.mark.shared
def test_transcription_matches_the_reference_matrix_cell_by_cell() -> None:
    table = rules_table()["matrix"]
    labels, outbound = table["labels"], table["outbound"]
    cells = reference_cells()
    assert len(cells) == 43 * 59 - 43
    transcribed = {(o, c): verdict for o, lists in outbound.items() for verdict, cs in lists.items() for c in cs}
    assert len(transcribed) == len(cells)  # nothing added, nothing dropped
    for row, column, cell in cells:
        assert transcribed[(labels[row], labels[column])] == CELL[cell], (row, column)


@pytest.mark.shared
def test_label_fixes_are_exactly_the_three_misspellings() -> None:
    """Each source label maps to itself as an SPDX id (case aside), except the documented ones."""
    labels = rules_table()["matrix"]["labels"]
    path = shared_path("reference", "peatmoss-license-compat", "lf_oss_license_compatibility_matrix.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    source = set(rows[0][1:]) | {row[0] for row in rows[1:]}
    assert set(labels) == source
    renamed = {label: spdx for label, spdx in labels.items() if label.lower() != spdx.lower()}
    spelled_differently = {"open-ssl": "OpenSSL",
                           "gpl-2.0-only-link-exception": "GPL-2.0-only WITH Classpath-exception-2.0"}
    assert renamed == FIXED | spelled_differently
    # The fix is what the source's own row labels say: each fixed column names a row of the source.
    row_labels = {row[0] for row in rows[1:]}
    assert {labels[label].lower() for label in FIXED} <= row_labels


@pytest.mark.shared
def test_compatibility_applies_the_table() -> None:
    """Every pair of the table gets the table's verdict from ``compatibility`` (model = component, application =
    outbound), rule lf-matrix. bzip2-1.0.5 is left out: SPDX deprecated it for bzip2-1.0.6, so it never reaches
    the table under its own id."""
    labels = rules_table()["matrix"]["labels"]
    checked = 0
    for row, column, cell in reference_cells():
        model, app = labels[column], labels[row]
        if "bzip2-1.0.5" in (model, app):
            continue
        verdict = compatibility(model, app)
        assert (verdict.verdict, verdict.rule) == (CELL[cell], "lf-matrix"), (model, app, verdict)
        checked += 1
    assert checked > 2300


def test_rule_ids_have_reasons() -> None:
    catalogue = rules_table()["rules"]
    assert {"LIC000", "LIC010", "LIC020", "LIC022", "LIC113", "LIC114", "lf-matrix"} <= set(catalogue)


@pytest.mark.parametrize(("model", "app", "verdict", "rule"), [
    ("mit", "apache-2.0", "compatible", "lf-matrix"),
    ("gpl-3.0", "mit", "incompatible", "lf-matrix"),
    ("apache-2.0", "gpl-3.0", "compatible", "lf-matrix"),
    ("apache-2.0", "apache-2.0", "compatible", "LIC000"),
    (None, "mit", "unknown", "LIC001"),
    ("mit", None, "unknown", "LIC002"),
    ("other", "mit", "unknown", "LIC003"),
    ("mit", "other", "unknown", "LIC003"),
    # non-commercial models
    ("cc-by-nc-4.0", "mit", "incompatible", "LIC010"),
    ("cc-by-nc-sa-4.0", "gpl-3.0", "incompatible", "LIC010"),
    ("cc-by-nc-4.0", "cc-by-nc-sa-4.0", "compatible", "LIC011"),
    ("cc-by-nc-sa-4.0", "cc-by-nc-4.0", "incompatible", "LIC012"),
    ("fair-noncommercial-research-license", "apache-2.0", "incompatible", "LIC010"),
    # share-alike
    ("cc-by-sa-4.0", "mit", "incompatible", "LIC012"),
    ("cc-by-sa-4.0", "gpl-3.0-or-later", "compatible", "LIC013"),
    ("cc-by-sa-3.0", "cc-by-sa-4.0", "compatible", "LIC013"),
    ("cc-by-nd-4.0", "mit", "unknown", "LIC014"),
    # use-based restrictions, notices
    ("creativeml-openrail-m", "mit", "compatible", "LIC021"),
    ("bigscience-bloom-rail-1.0", "apache-2.0", "compatible", "LIC021"),
    ("openrail++", "gpl-3.0", "incompatible", "LIC020"),
    ("llama2", "agpl-3.0", "incompatible", "LIC020"),
    ("llama3", "apache-2.0", "compatible", "LIC022"),
    ("gemma", "bsd-3-clause", "compatible", "LIC022"),
    ("openrail", "creativeml-openrail-m", "compatible", "LIC115"),
    ("llama2", "gemma", "unknown", "LIC023"),
    # outside the table: families
    ("cc-by-4.0", "gpl-3.0", "compatible", "LIC040"),
    ("mit", "creativeml-openrail-m", "compatible", "LIC040"),
    ("gpl-3.0", "cc-by-nc-4.0", "incompatible", "LIC041"),
    ("artistic-2.0", "mit", "incompatible", "LIC042"),
    ("gpl-3.0", "eupl-1.2", "unknown", "LIC043"),
    # the Unlicense is a license (read as CC0-1.0 in the table), not "no license"
    ("unlicense", "mit", "compatible", "lf-matrix-analogy"),
    ("gpl-3.0", "unlicense", "incompatible", "lf-matrix-analogy"),
    ("mit", "unlicense", "compatible", "lf-matrix-analogy"),
])
def test_model_in_application(model: str | None, app: str | None, verdict: str, rule: str) -> None:
    result = compatibility(model, app)
    assert (result.verdict, result.rule) == (verdict, rule), result
    assert result.reason


def test_reasons_name_both_licenses_and_terms() -> None:
    result = compatibility("llama3.1", "mit")
    assert "LicenseRef-llama3.1" in result.reason and "MIT" in result.reason and "Built with Llama" in result.reason
    assert "GPL-3.0-only" in compatibility("gpl-3.0", "mit").reason


@pytest.mark.parametrize(("model", "app", "verdict"), [
    ("apache-2.0 OR gpl-3.0", "mit", "compatible"),  # the model may be taken under Apache-2.0
    ("apache-2.0 AND gpl-3.0", "mit", "incompatible"),  # both bind
    ("gpl-3.0", "mit OR gpl-3.0", "compatible"),  # the application may be distributed under GPL-3.0
    ("gpl-3.0", "mit AND apache-2.0", "incompatible"),
    ("cc-by-nc-4.0 OR mit", "apache-2.0", "compatible"),
    ("ms-pl OR gpl-3.0", "mit", "unknown"),  # best of unknown and incompatible
])
def test_expressions(model: str, app: str, verdict: str) -> None:
    assert compatibility(model, app).verdict == verdict


@pytest.mark.parametrize(("child", "parent", "name", "verdict", "rule"), [
    ("apache-2.0", "apache-2.0", None, "compatible", "LIC100"),
    ("apache-2.0", "mit", None, "compatible", "lf-matrix"),
    ("mit", "gpl-3.0", None, "incompatible", "lf-matrix"),
    ("gpl-3.0", "mit", None, "compatible", "lf-matrix"),
    ("apache-2.0", "cc-by-nc-4.0", None, "incompatible", "LIC110"),
    ("cc-by-nc-sa-4.0", "cc-by-nc-4.0", None, "compatible", "LIC011"),
    ("apache-2.0", "cc-by-nd-4.0", None, "incompatible", "LIC111"),
    ("mit", "cc-by-sa-4.0", None, "incompatible", "LIC112"),
    ("cc-by-sa-4.0", "cc-by-sa-4.0", None, "compatible", "LIC100"),
    ("mit", "creativeml-openrail-m", None, "incompatible", "LIC113"),
    ("creativeml-openrail-m", "openrail", None, "compatible", "LIC115"),
    ("apache-2.0", "llama2", None, "incompatible", "LIC116"),
    ("apache-2.0", "gemma", None, "incompatible", "LIC116"),
    ("llama3", "llama3", "someone/Llama-3-8B-chat-ft", "compatible", "LIC100"),
    ("llama3", "llama3", "someone/my-chat-model", "incompatible", "LIC114"),
    ("llama3.1", "llama3.1", "someone/llama-3.1-8b-sft", "compatible", "LIC100"),
    ("llama3.1", "llama3.1", "NousResearch/Hermes-3-Llama-3.1-8B", "incompatible", "LIC114"),
    ("other", "mit", None, "unknown", "LIC003"),
    (None, "llama2", None, "unknown", "LIC102"),
    ("mit", None, None, "unknown", "LIC101"),
])
def test_base_model_chains(child: str | None, parent: str | None, name: str | None, verdict: str, rule: str) -> None:
    result = chain_conflict(child, parent, child_name=name)
    assert (result.verdict, result.rule) == (verdict, rule), result


def test_inputs_may_be_raw_spellings() -> None:
    assert compatibility("GNU General Public License v3.0", "MIT License") == compatibility("GPL-3.0-only", "MIT")
    assert normalize_license("GNU General Public License v3.0") == "GPL-3.0-only"
    assert isinstance(compatibility("apache-2.0", "mit"), Verdict)
