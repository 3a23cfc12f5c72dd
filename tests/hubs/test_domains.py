"""The pipeline-tag → domain map (domains.toml): well formed, and close to what PeaTMOSS used."""

from __future__ import annotations

import csv
import tomllib
from collections import Counter
from importlib import resources

from ptmscope.hubs.domains import DOMAINS, domain_for_task, task_domains
from tests.conftest import shared_path

SEVEN = {"NLP", "CV", "Audio", "Multimodal", "RL", "Tabular", "Other"}

# PeaTMOSS's plotting script (Plots/script_plot.py) names its domains differently. It has no
# Tabular domain: it files tabular-* and time-series tasks under "Other", so its "Other" agrees
# with our Other or Tabular.
REFERENCE_NAMES = {"NLP": {"NLP"}, "Computer Vision": {"CV"}, "Audio": {"Audio"}, "Multimodal": {"Multimodal"},
                   "Reinforcement Learning": {"RL"}, "Other": {"Other", "Tabular"}}
MIN_AGREEMENT = 0.85


def _toml() -> dict[str, dict[str, list[str]]]:
    text = resources.files("ptmscope.hubs").joinpath("domains.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_domains_toml_is_well_formed() -> None:
    table = _toml()
    assert set(DOMAINS) == SEVEN
    assert set(table) <= SEVEN
    # Read from the file itself, not through task_domains(), which would stop at the first duplicate.
    listed = Counter(task for entry in table.values() for task in entry["tasks"])
    assert [task for task, n in listed.items() if n > 1] == []
    # domain_for_task lower-cases and strips what it looks up; a key that is not already so never matches.
    assert [t for t in listed if t != t.strip().lower() or not t] == []
    assert len(task_domains()) == len(listed)


def test_lookups() -> None:
    assert domain_for_task("fill-mask") == "NLP"
    assert domain_for_task(" Image-Classification ") == "CV"
    assert domain_for_task("tabular-regression") == "Tabular"
    assert domain_for_task("no-such-task") == "Other"
    assert domain_for_task(None) == domain_for_task("") == "Other"
    for domain, entry in _toml().items():
        for task in entry["tasks"]:
            assert domain_for_task(task) == domain


def test_agreement_with_peatmoss_plot_script() -> None:
    path = shared_path("reference", "peatmoss-llm-metadata", "hf_task_to_domain.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["domain_plots_script_plot"].strip()]
    assert rows, "the reference lists no task with a plot-script domain"
    unknown = {r["domain_plots_script_plot"] for r in rows} - set(REFERENCE_NAMES)
    assert not unknown, f"reference domain names this test does not map: {unknown}"

    agree, strict, mismatches = 0, 0, []
    for r in rows:
        task, theirs = r["hf_pipeline_tag"], r["domain_plots_script_plot"]
        ours = domain_for_task(task)
        if ours in REFERENCE_NAMES[theirs]:
            agree += 1
        else:
            mismatches.append(f"{task}: theirs {theirs}, ours {ours}")
        # Also reported: the rate if their "Other" had to be our "Other" exactly (Tabular counted as a miss).
        strict += ours == ("Other" if theirs == "Other" else next(iter(REFERENCE_NAMES[theirs])))
    rate = agree / len(rows)
    print(f"domain agreement with PeaTMOSS script_plot: {agree}/{len(rows)} = {rate:.1%} "
          f"(strict Other: {strict}/{len(rows)} = {strict / len(rows):.1%})")
    for line in mismatches:
        print("  mismatch", line)
    assert rate >= MIN_AGREEMENT, mismatches
